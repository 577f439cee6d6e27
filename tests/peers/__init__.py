"""Test fixtures around the sandbox peers in ``sandbox/``."""
