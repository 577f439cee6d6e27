"""The service-item catalogue (事项目录): ~45 items with their department category, time
limits, fees, materials, the licence they issue and how often they are applied for."""

from __future__ import annotations

from synth.vocab import (
    _AGRI, _APPROVAL, _CIVIL, _CULTURE, _DRC, _EDU, _HEALTH, _HOUSING, _HR, _LAND, _MARKET, _MAT_BL, _MAT_ID,
    _MAT_LR, _MAT_SITE, _MEDINS, _TRANSPORT, _URBAN, _WATER,
)


class _Item:
    """One catalogue entry (事项目录)."""

    __slots__ = ("idx", "name", "type", "dept", "legal", "promise", "unit", "fee", "materials",
                 "licence", "prefix", "years", "authority", "holder", "weight", "project", "instant", "online")

    def __init__(self, idx, name, type_, dept, legal, promise, fee, materials, licence, prefix, years,
                 authority, holder, weight, project=False, instant=False, online=True, unit="工作日"):
        assert promise <= legal, name
        self.idx, self.name, self.type, self.dept = idx, name, type_, dept
        self.legal, self.promise, self.unit, self.fee = legal, promise, unit, fee
        self.materials, self.licence, self.prefix, self.years = materials, licence, prefix, years
        self.authority, self.holder, self.weight = authority, holder, weight
        self.project, self.instant, self.online = project, instant, online


def _catalogue() -> tuple[_Item, ...]:
    rows = [
        # name, type, dept, legal, promise, fee(yuan) | None, materials, licence, no. prefix, years, authority, holder p/e/pe, weight, flags
        ("食品经营许可", "01", _MARKET, 20, 10, None, ("食品经营许可申请书", _MAT_BL, _MAT_LR, "食品安全管理制度", "经营场所平面布局图"), "食品经营许可证", "JY1", 5, "market", "e", 10),
        ("个体工商户设立登记", "01", _MARKET, 15, 1, None, ("个体工商户登记（备案）申请书", "经营者身份证明", _MAT_SITE), "营业执照", "GT", 0, "market", "p", 12),
        ("个体工商户变更登记", "01", _MARKET, 15, 1, None, ("个体工商户变更登记申请书", "经营者身份证明", "原营业执照"), "营业执照", "GT", 0, "market", "p", 3),
        ("企业设立登记", "01", _MARKET, 15, 2, None, ("公司登记（备案）申请书", "公司章程", "股东主体资格证明", "法定代表人任职文件", "住所使用证明"), "营业执照", "QY", 0, "market", "pe", 8),
        ("企业注销登记", "01", _MARKET, 10, 1, None, ("注销登记申请书", "清算报告", "清税证明"), None, None, 0, "market", "e", 2),
        ("药品零售企业许可", "01", _MARKET, 30, 15, None, ("药品经营许可证申请表", _MAT_BL, "执业药师注册证", _MAT_SITE, "质量管理文件目录"), "药品经营许可证", "YPLS", 5, "market", "e", 2),
        ("第二类医疗器械经营备案", "10", _MARKET, 5, 1, None, ("第二类医疗器械经营备案表", _MAT_BL, "质量管理制度"), None, None, 0, "market", "e", 2),
        ("特种设备使用登记", "01", _MARKET, 15, 5, None, ("特种设备使用登记表", "产品合格证", "监督检验证书"), "特种设备使用登记证", "TSSB", 0, "market", "e", 2),
        ("食品小作坊登记", "01", _MARKET, 20, 10, None, ("食品小作坊登记申请表", "经营者身份证明", "生产场所平面图"), "食品小作坊登记证", "SXZF", 3, "market", "p", 2),
        ("公共场所卫生许可", "01", _APPROVAL, 20, 5, None, ("公共场所卫生许可申请表", _MAT_BL, "卫生管理制度", "从业人员健康合格证明", "场所平面图"), "公共场所卫生许可证", "GGWS", 4, "health", "e", 5),
        ("道路运输经营许可", "01", _APPROVAL, 20, 10, None, ("道路运输经营申请表", _MAT_BL, "车辆技术等级评定证明", "驾驶员从业资格证", "安全生产管理制度"), "道路运输经营许可证", "DLYS", 4, "transport", "e", 3),
        ("城市建筑垃圾处置核准", "01", _URBAN, 20, 10, None, ("建筑垃圾处置核准申请表", "建筑垃圾处置方案", "运输车辆行驶证", "消纳场所协议"), "城市建筑垃圾处置核准证", "JZLJ", 1, "urban", "e", 2, True),
        ("设置大型户外广告及在城市建筑物、设施上悬挂、张贴宣传品审批", "01", _URBAN, 20, 5, None, ("户外广告设置申请表", "设计效果图", "场地使用证明"), None, None, 0, "urban", "e", 2),
        ("排水许可", "01", _WATER, 20, 10, None, ("城镇污水排入排水管网许可申请表", "排水户内部排水管网图", "排水水质检测报告"), "城镇污水排入排水管网许可证", "PS", 5, "water", "e", 2),
        ("取水许可", "01", _WATER, 45, 20, None, ("取水许可申请书", "建设项目水资源论证报告"), "取水许可证", "QS", 5, "water", "e", 1),
        ("建设工程规划许可证核发", "01", _LAND, 20, 10, "500.00", ("建设工程规划许可申请表", "建设工程设计方案", "土地权属证明"), "建设工程规划许可证", "JZ", 0, "land", "e", 3, True),
        ("建设用地规划许可证核发", "01", _LAND, 20, 10, None, ("建设用地规划许可申请表", "建设项目批准文件", "用地红线图"), "建设用地规划许可证", "DZ", 0, "land", "e", 1, True),
        ("乡村建设规划许可证核发", "01", _LAND, 20, 10, None, ("乡村建设规划许可申请表", "村民委员会意见", "宅基地权属证明"), "乡村建设规划许可证", "XZ", 0, "land", "p", 2),
        ("不动产首次登记", "07", _LAND, 30, 5, "80.00", ("不动产登记申请书", _MAT_ID, "不动产权属来源证明", "不动产界址、空间界限、面积材料"), "不动产权证书", "BDC", 0, "land", "pe", 6),
        ("建筑工程施工许可证核发", "01", _HOUSING, 15, 3, None, ("建筑工程施工许可申请表", "建设工程规划许可证", "施工合同", "质量安全监督手续"), "建筑工程施工许可证", "SG", 0, "housing", "e", 4, True),
        ("商品房预售许可", "01", _HOUSING, 20, 10, None, ("商品房预售许可申请表", "土地使用权证", "建设工程规划许可证", "施工许可证", "预售方案"), "商品房预售许可证", "YS", 0, "housing", "e", 1, True),
        ("建设工程竣工验收备案", "10", _HOUSING, 15, 5, None, ("竣工验收备案表", "竣工验收报告", "规划认可文件", "消防验收意见"), None, None, 0, "housing", "e", 2, True),
        ("建筑业企业资质核准", "01", _HOUSING, 20, 15, None, ("建筑业企业资质申请表", _MAT_BL, "技术负责人证明", "注册人员证书"), "建筑业企业资质证书", "D3", 5, "housing", "e", 1),
        ("房屋建筑和市政基础设施工程质量监督手续办理", "20", _HOUSING, 10, 3, None, ("工程质量监督登记表", "施工图审查合格书", "中标通知书"), None, None, 0, "housing", "e", 2, True),
        ("占用、挖掘城市道路审批", "01", _HOUSING, 20, 5, "1200.00", ("占用挖掘城市道路申请表", "施工方案", "交通组织方案"), None, None, 0, "housing", "e", 2, True),
        ("医师执业注册", "01", _HEALTH, 20, 10, None, ("医师执业注册申请审核表", "医师资格证书", "健康证明", "聘用单位证明"), "医师执业证书", "YS", 0, "health", "p", 3),
        ("护士执业注册", "01", _HEALTH, 20, 10, None, ("护士执业注册申请审核表", "护士执业资格考试成绩合格证明", "健康体检证明"), "护士执业证书", "HS", 0, "health", "p", 3),
        ("医疗机构执业登记", "01", _HEALTH, 45, 20, None, ("医疗机构执业登记申请书", "设置医疗机构批准书", "房屋产权证明", "人员名录"), "医疗机构执业许可证", "PDY", 5, "health", "e", 1),
        ("放射诊疗许可", "01", _HEALTH, 20, 15, None, ("放射诊疗许可申请表", "放射防护评价报告", "放射诊疗设备清单"), "放射诊疗许可证", "FSZL", 5, "health", "e", 1),
        ("道路运输车辆营运证核发", "01", _TRANSPORT, 10, 3, None, ("车辆营运证申请表", "机动车行驶证", "车辆技术等级评定证明"), "道路运输证", "YYZ", 0, "transport", "e", 4),
        ("出租汽车驾驶员从业资格注册", "01", _TRANSPORT, 20, 5, None, ("从业资格注册申请表", "从业资格证", "劳动合同"), None, None, 0, "transport", "p", 2),
        ("人力资源服务许可", "01", _HR, 20, 10, None, ("人力资源服务许可申请表", _MAT_BL, "专职工作人员证明", "服务场所证明"), "人力资源服务许可证", "RLZY", 5, "hr", "e", 1),
        ("劳务派遣经营许可", "01", _HR, 20, 10, "0.00", ("劳务派遣经营许可申请书", _MAT_BL, "验资报告", "经营场所证明"), "劳务派遣经营许可证", "LWPQ", 3, "hr", "e", 1),
        ("失业保险金申领", "05", _HR, 15, 5, None, ("失业保险金申领登记表", _MAT_ID, "解除劳动合同证明"), None, None, 0, "hr", "p", 5),
        ("社会保障卡申领", "20", _HR, 30, 10, None, ("社会保障卡申领表", _MAT_ID, "近期免冠照片"), None, None, 0, "hr", "p", 5),
        ("民办非企业单位成立登记", "01", _CIVIL, 60, 30, None, ("成立登记申请书", "章程草案", "验资报告", "场所使用权证明"), "民办非企业单位登记证书", "MF", 5, "civil", "p", 1),
        ("内地居民婚姻登记", "07", _CIVIL, 1, 0, "9.00", ("婚姻登记声明书", "居民身份证", "户口簿", "近期合影照片"), "结婚证", "J", 0, "civil", "p", 4, False, True, False),
        ("最低生活保障对象认定", "07", _CIVIL, 30, 20, None, ("最低生活保障申请书", "家庭成员身份证明", "家庭收入证明"), None, None, 0, "civil", "p", 2),
        ("教师资格认定", "07", _EDU, 60, 20, None, ("教师资格认定申请表", "学历证书", "普通话水平测试等级证书", "体检结论"), "教师资格证书", "JSZG", 0, "edu", "p", 2),
        ("民办学校办学许可", "01", _EDU, 90, 30, None, ("民办学校办学许可申请表", "学校章程", "资产来源证明", "校舍证明"), "民办学校办学许可证", "JMB", 5, "edu", "e", 1),
        ("农药经营许可", "01", _AGRI, 20, 10, None, ("农药经营许可申请表", _MAT_BL, "经营人员农药专业学历证明", _MAT_SITE), "农药经营许可证", "NYJY", 5, "agri", "e", 1),
        ("兽药经营许可", "01", _AGRI, 20, 10, None, ("兽药经营许可申请表", _MAT_BL, "质量管理人员资格证明", _MAT_SITE), "兽药经营许可证", "SYJY", 5, "agri", "e", 1),
        ("动物防疫条件合格证核发", "01", _AGRI, 20, 10, None, ("动物防疫条件审查申请表", "场所地理位置图", "防疫制度"), "动物防疫条件合格证", "DFHG", 0, "agri", "e", 1),
        ("娱乐场所从事娱乐场所经营活动审批", "01", _CULTURE, 20, 10, None, ("娱乐场所经营活动申请表", _MAT_BL, "消防验收证明", "场所平面图"), "娱乐经营许可证", "YL", 2, "culture", "e", 1),
        ("营业性演出审批", "01", _CULTURE, 3, 2, None, ("营业性演出申请表", "演出节目内容材料", "演出场地证明"), None, None, 0, "culture", "e", 1),
        ("基本医疗保险参保登记", "20", _MEDINS, 5, 1, None, ("参保登记表", _MAT_ID), None, None, 0, "hr", "p", 4),
        ("企业投资项目备案", "10", _DRC, 3, 1, None, ("项目备案申请表", "项目单位营业执照", "项目基本情况说明"), None, None, 0, "market", "e", 2, True),
    ]
    out = []
    for i, row in enumerate(rows):
        name, type_, dept, legal, promise, fee, mats, lic, prefix, years, auth, holder, weight, *flags = row
        project = flags[0] if len(flags) > 0 else False
        instant = flags[1] if len(flags) > 1 else False
        online = flags[2] if len(flags) > 2 else True
        out.append(_Item(i, name, type_, dept, legal, promise, fee, mats, lic, prefix, years, auth, holder,
                         weight, project, instant, online))
    return tuple(out)


ITEMS = _catalogue()
