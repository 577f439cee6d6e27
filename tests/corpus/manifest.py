"""The bad-input corpus manifest (``manifest.yaml``), validated on load: one entry per
hostile or broken input, the channel it goes through and what must become of it."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tests.corpus.generators import GENERATORS

HERE = Path(__file__).parent
MANIFEST = HERE / "manifest.yaml"
CHANNELS = ("file", "bus", "rest", "soap", "sftp", "device")
CATEGORIES = (
    "entity_expansion",
    "external_entity",
    "encoding",
    "truncated",
    "huge",
    "deep_nesting",
    "wrong_type",
    "range_and_date",
    "check_character",
    "unknown_code",
    "injection",
    "csv_structure",
    "protocol",
    "garbage",
    "authorisation",
    "path_traversal",
)


class Generate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict = {}

    @model_validator(mode="after")
    def _known(self):
        if self.name not in GENERATORS:
            raise ValueError(f"unknown generator {self.name!r}; known: {', '.join(GENERATORS)}")
        return self


class Expect(BaseModel):
    """``refused``: the sender is told no (HTTP status / SOAP fault / CLI error) and nothing
    is stored; ``quarantined``: every record is kept in the quarantine with its reason;
    ``stored``: the input is valid data (injection strings) and is kept verbatim;
    ``mixed``: the good records are stored, the bad ones quarantined."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["refused", "quarantined", "stored", "mixed"]
    status: int | None = None  # HTTP status (REST, SOAP, device) or CLI exit code (file)
    error: str | None = None  # the error code the sender sees (JSON "error", SOAP fault code)
    message: str | None = None  # a fragment of the message the sender sees
    reasons: dict[str, int] = {}  # quarantine reason → rows
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0

    @property
    def received(self) -> int:
        return self.stored + self.duplicate + self.quarantined

    @model_validator(mode="after")
    def _consistent(self):
        if sum(self.reasons.values()) != self.quarantined:
            raise ValueError(f"reasons {self.reasons} do not add up to quarantined={self.quarantined}")
        if self.outcome == "refused" and (self.stored or self.duplicate or self.status is None):
            raise ValueError("a refusal stores nothing and names the status the sender gets")
        if self.outcome == "quarantined" and (self.stored or not self.quarantined):
            raise ValueError("'quarantined' means quarantined > 0 and nothing stored")
        if self.outcome == "stored" and (self.quarantined or not self.stored):
            raise ValueError("'stored' means stored > 0 and nothing quarantined")
        if self.outcome == "mixed" and not (self.stored and self.quarantined):
            raise ValueError("'mixed' means some stored and some quarantined")
        return self


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    channel: Literal["file", "bus", "rest", "soap", "sftp", "device"]
    system: str  # source system (catalog/systems.yaml), or the hall for device messages
    category: str
    description: str
    input: str | None = None  # a file under tests/corpus/
    generate: Generate | None = None
    fmt: str | None = None  # file: --format; bus: the format header
    kind: str | None = None  # file: --kind; rest: the push route; bus: the kind header
    content_type: str | None = None  # rest / soap / device
    headers: dict[str, str | None] = {}  # bus: headers to set (None removes one); rest: HTTP headers
    vendor: str | None = None  # device: the vendor format in the URL
    remote_name: str | None = None  # sftp: the name the file is listed under
    rogue: bool = False  # sftp: the name cannot exist on disk; a hostile server lists it
    stored_text: dict[str, str] = {}  # field → exact text the stored record must hold
    must_not_store: list[str] = []  # text that must appear nowhere in the database (expanded entities)
    expect: Expect

    @model_validator(mode="after")
    def _shape(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}; known: {', '.join(CATEGORIES)}")
        if (self.input is None) == (self.generate is None):
            raise ValueError("give exactly one of input (a file) and generate (a generator)")
        if self.input is not None and not (HERE / self.input).is_file():
            raise ValueError(f"input {self.input} does not exist under {HERE}")
        if (self.remote_name is not None or self.rogue) != (self.channel == "sftp"):
            raise ValueError("remote_name / rogue are for sftp entries, and sftp entries need remote_name")
        if (self.vendor is not None) != (self.channel == "device"):
            raise ValueError("device entries (and only they) name a vendor")
        if self.stored_text and self.expect.outcome not in ("stored", "mixed"):
            raise ValueError("stored_text needs something stored")
        return self

    def data(self) -> bytes:
        if self.input is not None:
            return (HERE / self.input).read_bytes()
        return GENERATORS[self.generate.name](**self.generate.args)


class CorpusError(ValueError):
    pass


@lru_cache(maxsize=1)
def load_manifest(path: Path = MANIFEST) -> tuple[Entry, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for i, item in enumerate(raw.get("inputs") or []):
        try:
            entries.append(Entry.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise CorpusError(f"{path}: inputs[{i}] ({item.get('id', '?')}): {where}: {err['msg']}") from None
    dup = [k for k, n in Counter(e.id for e in entries).items() if n > 1]
    if dup:
        raise CorpusError(f"{path}: ids used twice: {', '.join(dup)}")
    if len(entries) < 60:
        raise CorpusError(f"{path}: {len(entries)} inputs; the corpus promises at least 60")
    return tuple(entries)
