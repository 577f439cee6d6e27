"""Outbound (出站): delivery to peers, reporting upward, reconciliation, serialisation to the wire."""
