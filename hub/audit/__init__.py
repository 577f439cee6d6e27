"""The tamper-evident exchange log (存证, issue #21): every message in and every delivery
out, hash-chained (``hub.audit.chain``), its exact bytes kept by digest
(``hub.audit.objects``), re-checked by ``govhub audit verify`` (``hub.audit.verify``);
signed checkpoints (``hub.audit.signing``), RFC 3161 time-stamps (``hub.audit.timestamp``)
and evidence packages (``hub.audit.package``). The formats are ``govhub_verify.formats``."""
