"""Security tier: each weakness of the trust boundary (issue #12), through the real HTTP interface (or the CLI for SFTP)."""
