"""The tamper-evident exchange log (存证): every message in and every delivery out, hash-chained
(``hub.audit.chain``), its exact bytes kept by digest (``hub.audit.objects``), re-checked by
``govhub audit verify`` (``hub.audit.verify``). The format is docs'd in ``hub.audit.chain``."""
