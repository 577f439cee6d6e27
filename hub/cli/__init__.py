"""The ``govhub`` command line: ``hub.cli.main`` builds the command tree; the command
groups live one module each beside it."""
