"""Test fixtures around the sandbox peers in ``adapters/sandbox/``."""
