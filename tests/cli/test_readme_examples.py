"""The README's examples, run as a reader would run them on the embedded default.

Every ```sh block of README.md that needs nothing but this checkout (no PostgreSQL or
RabbitMQ URL, no remote ``hub:8080``, no ``make``, no Airflow) is run with bash, with
``GOVHUB_HOME`` in a temporary folder. Only what cannot be the same on a test machine
is substituted: ``.venv/bin/…`` becomes this interpreter, ``/tmp/…`` the test's temporary
folder and the example port 2222 a free one. Inline examples written as
```govhub …``` → ```output``` are run and their output compared.

The SFTP example must store the department's records: with cases spread over all of
Suzhou (``govhub generate`` without ``--department/--region``) most of them were
quarantined as ``forbidden_region``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PY = sys.executable

# A block that mentions one of these needs something beyond the embedded default.
_NOT_LOCAL = ("postgresql://", "amqp://", "http://hub:", "airflow", "make ")


def _sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def _local_blocks() -> list[str]:
    return [b for b in _sh_blocks() if not any(s in b for s in _NOT_LOCAL)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVHUB_")}
    env.update(
        GOVHUB_HOME=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        GOVHUB_QUALITY_BATCH="off",  # the batch expectation suite only reports; it would double the run time
    )
    return env


def _localise(block: str, tmp_path: Path, port: int) -> str:
    py = shlex.quote(PY)
    tools = {"govhub": f"{py} -m hub.cli.main", "python": py}
    block = re.sub(r"(?<![\w/])\.venv/bin/(govhub|python)\b", lambda m: tools[m.group(1)], block)
    block = re.sub(r"(?<![\w.])/tmp/", f"{tmp_path}/", block)
    return block.replace("2222", str(port))


def _run_block(block: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + _localise(
        block, tmp_path, _free_port()
    )
    return subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )


def _stats(tmp_path: Path) -> dict:
    out = subprocess.run(
        [PY, "-m", "hub.cli.main", "stats", "--json"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out)


def test_the_readme_has_runnable_examples():
    blocks = _local_blocks()
    assert any("sandbox.sftp_server" in b for b in blocks), "the SFTP example is no longer runnable locally"


@pytest.mark.parametrize("block", _local_blocks(), ids=lambda b: b.strip().splitlines()[0][:40])
def test_readme_example_runs(block, tmp_path):
    done = _run_block(block, tmp_path)
    assert done.returncode == 0, (
        f"README example failed:\n{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    # A line "# OUTPUT" right after a command is what the reader is told to expect.
    for expected in re.findall(r"^# (\d+ files?: .*)$", block, re.M):
        assert expected in done.stdout, f"expected {expected!r} in:\n{done.stdout}"
    if "govhub poll" in block:
        stats = _stats(tmp_path)
        text = json.dumps(stats, ensure_ascii=False)
        assert "forbidden_region" not in text and "forbidden_department" not in text, text
        m = re.search(r"generate case (\d+) (\S+)", block)
        assert m, block
        n, path = int(m.group(1)), _localise(m.group(2), tmp_path, 0)
        done_file = Path(path).parent / "done" / Path(path).name
        assert done_file.exists(), f"{done_file} was not moved to done/ after the poll"
        assert f"{n} stored, 0 duplicate, 0 quarantined" in done.stdout, done.stdout


_INLINE = re.compile(r"`(govhub [^`]+)` → `([^`]+)`")


@pytest.mark.parametrize("command,expected", _INLINE.findall(README.read_text(encoding="utf-8")))
def test_readme_inline_example(command, expected, tmp_path):
    args = shlex.split(command)[1:]
    done = subprocess.run(
        [PY, "-m", "hub.cli.main", *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
