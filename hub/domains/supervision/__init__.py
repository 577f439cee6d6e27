"""Electronic supervision (电子监察): monitoring rules as data (catalog/monitoring_rules.yaml),
a scan that raises supervision records once per (case, rule, level), the 督办 workflow
(发起 → 已指派 → 已签收 → 已办结) and reporting of supervision records upward."""

from hub.domains.supervision.rules import Finding, MonitoringRule, RulesError, evaluate, load_rules

__all__ = ["Finding", "MonitoringRule", "RulesError", "evaluate", "load_rules"]
