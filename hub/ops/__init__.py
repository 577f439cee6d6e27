"""Operations: logs, metrics, counts, job runs, the personal-data scan, what DAG files share."""
