"""The tamper-evident exchange log (存证, issue #21): signed checkpoints
(:mod:`hub.audit.signing`), RFC 3161 time-stamps (:mod:`hub.audit.timestamp`) and evidence
packages (:mod:`hub.audit.package`); the formats are :mod:`govhub_verify.formats`."""
