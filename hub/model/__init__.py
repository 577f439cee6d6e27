"""The canonical model (规范数据模型): the data dictionary, canonical values, mappings and transforms, record rules, national codes, masking and safe XML reading."""
