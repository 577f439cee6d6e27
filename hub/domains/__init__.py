"""The domains (业务域): items, licences, bundles, evaluations, notifications, supervision, time limits, resource libraries."""
