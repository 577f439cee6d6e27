"""The ``govhub`` command line.

``hub.cli.main`` builds the root group and registers the command groups, one module
each beside it (``ingest``, ``deliveries``, ``report``, ``items``, ``licences``...;
``govhub devices`` lives in ``devices/cli.py``). What they share (settings, the
database, the error exit, the bus relay, output helpers) is in ``hub.cli.common``;
a command module imports nothing else of ``hub.cli``.

``govhub --help`` loads every command module, so a module imports at the top only
what is cheap; a command imports its heavy dependencies (the ingest pipeline with
psycopg and prometheus_client, kombu, lxml, python-stdnum, uvicorn...) when it runs,
each such import marked ``# deferred:``.
"""
