"""Fixtures for the ingress and delivery tests: a catalogue of their own with fresh
credentials (the committed catalogue holds none), pointed at by GOVHUB_CATALOG."""

from __future__ import annotations

import secrets

import pytest
import yaml

from hub.catalog.authn import hash_password, sha256_hex
from synth.generator import Generator


def department(name: str) -> tuple[str, str]:
    for dept_name, code, region in Generator(seed=0).departments:
        if dept_name == name:
            return code, region
    raise KeyError(name)


@pytest.fixture
def catalog(tmp_path, monkeypatch):
    """Writes a catalogue; returns (path, keys) where keys[system] is its plaintext API key.
    Call ``catalog.add(entry)`` before the first request to add peers."""
    keys = {sid: secrets.token_urlsafe(24) for sid in ("dept-a", "dept-b", "prov", "city-wx", "hmac-dept")}
    code_a, region_a = department("常熟市行政审批局")
    code_b, region_b = department("张家港市住房和城乡建设局")
    monkeypatch.setenv("GOVHUB_TEST_HMAC_SECRET", keys["hmac-dept"])
    systems = [
        {
            "id": "dept-a",
            "name": "常熟市行政审批局业务系统",
            "level": "department",
            "region_code": region_a,
            "dept_code": code_a,
            "may_push": ["case", "licence"],
            "credentials": {
                "api_key_sha256": sha256_hex(keys["dept-a"]),
                "username": "dept-a",
                "password_pbkdf2": hash_password("dept-a-password", iterations=1000),
            },
        },
        {
            "id": "dept-b",
            "name": "张家港市住建局业务系统",
            "level": "department",
            "region_code": region_b,
            "dept_code": code_b,
            "may_push": ["case"],
            "credentials": {"api_key_sha256": sha256_hex(keys["dept-b"])},
        },
        {
            "id": "prov",
            "name": "江苏省一体化政务服务平台",
            "level": "province",
            "region_code": "320000",
            "may_pull": ["case", "licence", "item"],
            "may_push": ["item"],
            "credentials": {"api_key_sha256": sha256_hex(keys["prov"])},
        },
        {
            "id": "city-wx",
            "name": "无锡市政务服务平台",
            "level": "city",
            "region_code": "320200",
            "may_pull": ["case"],
            "credentials": {"api_key_sha256": sha256_hex(keys["city-wx"])},
        },
        {
            "id": "hmac-dept",
            "name": "常熟市另一业务系统",
            "level": "department",
            "region_code": region_a,
            "dept_code": code_a,
            "may_push": ["case"],
            "credentials": {"secret": {"env": "GOVHUB_TEST_HMAC_SECRET"}},
        },
    ]
    path = tmp_path / "systems.yaml"

    class Catalog:
        def __init__(self):
            self.path, self.keys, self.systems = path, keys, systems
            self.write()

        def add(self, entry: dict) -> None:
            self.systems.append(entry)
            self.write()

        def update(self, system_id: str, **fields) -> None:
            next(s for s in self.systems if s["id"] == system_id).update(fields)
            self.write()

        def write(self) -> None:
            path.write_text(yaml.safe_dump({"systems": self.systems}, allow_unicode=True), encoding="utf-8")
            from hub.catalog.systems import _systems_at

            _systems_at.cache_clear()

    monkeypatch.setenv("GOVHUB_CATALOG", str(path))
    cat = Catalog()
    yield cat
    from hub.catalog.systems import _systems_at

    _systems_at.cache_clear()
