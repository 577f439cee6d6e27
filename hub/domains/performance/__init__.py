"""Statistics and performance evaluation (统计分析, 绩效/效能考核).

| module | what |
|---|---|
| ``indicators`` | the indicator set as data (``catalog/performance_indicators.yaml``): label, formula over measures, unit, dimensions; validated on load |
| ``tables`` | ``perf_day`` (day × region × department × item × window × handler sums), ``perf_case`` (one row per case), ``perf_watermark`` |
| ``facts`` | one case's facts: its days and its time-limit verdict on the working-day calendar (调休 included) |
| ``aggregate`` | re-aggregating days, set-based (``INSERT … SELECT … GROUP BY … ON CONFLICT``) |
| ``refresh`` | incremental: from the watermarks, the changed cases and the days they touch (``performance_stats`` DAG) |
| ``query`` | figures for a period (day, month, quarter, year), grouped and filtered, scoped by region |
| ``report_html`` | the Chinese-labelled HTML report with charts |
"""
