"""Pytest fixtures for the sandbox peers (import them into a conftest or a test module)."""

from __future__ import annotations

import pytest

from sandbox.sftp_server import start_sftp_server

SFTP_USER, SFTP_PASSWORD = "dept", "dept-sftp-password"


@pytest.fixture
def sftp_server(tmp_path):
    """A real SFTP server on 127.0.0.1 serving ``tmp_path / "sftp-root"`` (with an empty
    ``/drop`` folder) as user ``dept``; ``sftp_server.url("/drop", ...)`` gives an adapter
    URL with its host key pinned. Stopped afterwards."""
    root = tmp_path / "sftp-root"
    (root / "drop").mkdir(parents=True)
    server = start_sftp_server(root, SFTP_USER, SFTP_PASSWORD)
    yield server
    server.stop()
