"""govhub: integration hub and data-exchange bus for government services (政务服务).

The core package: canonical model, resource libraries, ingest pipeline, bus, CLI.
"""

__version__ = "0.1.0"
