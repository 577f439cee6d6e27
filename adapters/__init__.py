"""Adapters to external systems (SOAP, REST, SFTP, AMQP) behind one small interface.

Filled in by the adapters work; the ingest pipeline does not depend on any adapter.
"""
