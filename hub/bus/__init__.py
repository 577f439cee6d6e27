"""The message bus (kombu): topology, the embedded SQLite transport, the partition consumers."""
