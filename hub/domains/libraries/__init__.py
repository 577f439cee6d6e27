"""Resource libraries (资源库): keeping the people, enterprise and project libraries
current from several sources by declared field precedence.

- ``precedence`` — ``catalog/precedence.yaml``: which source wins for which field;
- ``merge`` — ``refresh``: pull a sharing platform's change feed and merge it field by
  field, with provenance, conflicts, history and events;
- ``merge_batch`` — one batch of a refresh written: rows, history, provenance, conflicts, events;
- ``decision`` — what a merge decides for one record, field by field (pure).
"""
