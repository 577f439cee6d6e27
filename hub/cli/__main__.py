"""``python -m hub.cli``: the ``govhub`` command line."""

from hub.cli.main import main

main()
