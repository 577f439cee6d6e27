"""One way to read a catalogue file (``catalog/*.yaml``, the mapping and vendor files).

Datasheet
---------
Path        the caller passes it; the defaults and their ``GOVHUB_*`` overrides are
            settings (``hub.core.config``).
Read        ``read(path, error, what)``: UTF-8 YAML, duplicate keys refused, the node
            tree kept for line numbers (``hub.core.yamlsource``). An unreadable file
            or bad YAML raises ``error`` naming the file (and line).
Validate    ``load(path, Model, error, what, ...)``: the data is validated by the
            pydantic ``Model``; the file's own checks (``check``) raise ``Problem(keys,
            message)``; the first error raises ``error`` with the file, the line and the
            key. ``unique`` lists refuse a repeated id, naming both lines.
Messages    ``path:line: key: problem`` (``style="line"``), or, for files whose
            messages always began ``path: key`` (systems, halls, bundles, licences,
            precedence), ``path: key: problem (line N)`` (``style="key"``).
Cache       ``per_path(loader)``: one result per path string, for the functions that
            answer "the file in force"; a loader called with a path reads it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError

from hub.core.yamlsource import error_line, error_text, line_at, parse

M = TypeVar("M", bound=BaseModel)
Style = Literal["line", "key"]


class Problem(Exception):
    """Raised by a file's own checks: where (keys into the document) and what is wrong."""

    def __init__(self, keys: Sequence[Any], message: str):
        super().__init__(message)
        self.keys, self.message = list(keys), message


@dataclass(frozen=True)
class Unique:
    """The entries of the list ``field`` must differ in ``key``; ``at`` says where a
    repeat is reported: at the list (``systems: duplicate id 'a'``), at the entry's id
    (``licence_types.<code>: duplicate code``) or at its index (``days.3: ... listed twice``)."""

    field: str
    key: str = "id"
    noun: str = "id"
    at: Literal["list", "entry", "index"] = "list"


@dataclass(frozen=True)
class Source:
    """A read YAML file: its data and where each node sits."""

    path: Path
    data: Any
    root: yaml.Node | None
    style: Style = "line"
    aliases: dict[str, str] | None = None

    def line(self, keys: Iterable[Any]) -> int | None:
        return line_at(self.root, keys, self.aliases)

    def error(self, error: type[Exception], keys: Sequence[Any], message: str, line: int | None = None) -> Exception:
        """``error`` naming the file, the line of ``keys`` and the key."""
        aliases = self.aliases or {}
        key = ".".join(aliases.get(str(k), str(k)) for k in keys) or "file"
        line = line if line is not None else self.line(keys)
        if self.style == "key":
            return error(f"{self.path}: {key}: {message}" + (f" (line {line})" if line else ""))
        return error(f"{self.path}:{line}: {key}: {message}" if line else f"{self.path}: {key}: {message}")


def read(
    path: str | Path,
    error: type[Exception],
    what: str,
    *,
    style: Style = "line",
    dates_as_text: bool = False,
    aliases: dict[str, str] | None = None,
) -> Source:
    """Read and parse one YAML file; ``error`` says what is wrong and what to do."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(
            f"{path}: cannot read {what}: {exc.strerror or exc}; check the path "
            "(or the GOVHUB_* variable that names it)"
        ) from None
    except UnicodeDecodeError:
        raise error(f"{path}: {what} must be UTF-8; save the file as UTF-8") from None
    try:
        data, root = parse(text, dates_as_text=dates_as_text)
    except yaml.YAMLError as exc:
        line = error_line(exc)
        where = f"{path}:{line}" if line else str(path)
        raise error(f"{where}: not valid YAML: {error_text(exc)}") from None
    return Source(path, data, root, style, aliases)


def _message(err: Mapping[str, Any]) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


def validate(
    source: Source,
    model: type[M],
    error: type[Exception],
    *,
    data: Any = None,
    check: Callable[[M], None] | None = None,
    unique: Iterable[Unique] = (),
) -> M:
    """``model`` of the source's data (or ``data``, prepared from it), checked."""
    try:
        doc = model.model_validate(source.data if data is None else data)
        if check is not None:
            check(doc)
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        raise source.error(error, err["loc"], _message(err)) from None
    except Problem as p:
        raise source.error(error, p.keys, p.message) from None
    for u in unique:
        first: dict[Any, int] = {}
        for i, entry in enumerate(getattr(doc, u.field)):
            value = getattr(entry, u.key)
            if value in first:
                was = source.line([u.field, first[value]])
                seen = f"first at line {was}" if was else f"first as entry {first[value]}"
                if u.at == "index":
                    raise source.error(error, [u.field, i], f"{value} is listed twice ({seen})")
                keys = [u.field, value] if u.at == "entry" else [u.field]
                said = f"duplicate {u.noun}" if u.at == "entry" else f"duplicate {u.noun} {value!r}"
                raise source.error(error, keys, f"{said}, {seen}", line=source.line([u.field, i]))
            first[value] = i
    return doc


def load(
    path: str | Path,
    model: type[M],
    error: type[Exception],
    what: str,
    *,
    style: Style = "line",
    unique: Iterable[Unique] = (),
    check: Callable[[M], None] | None = None,
    prepare: Callable[[Any], Any] | None = None,
    dates_as_text: bool = False,
    aliases: dict[str, str] | None = None,
) -> M:
    """Read ``path``, validate it as ``model``, refuse repeated ids; errors are ``error``."""
    source = read(path, error, what, style=style, dates_as_text=dates_as_text, aliases=aliases)
    data = prepare(source.data) if prepare is not None else None
    return validate(source, model, error, data=data, check=check, unique=unique)


T = TypeVar("T")


T_co = TypeVar("T_co", covariant=True)


class PerPath(Protocol[T_co]):
    """A loader cached per path: ``loaded(path, *more)``; ``cache_clear()`` forgets every path."""

    def __call__(self, path: str | Path, *more: Any) -> T_co: ...

    def cache_clear(self) -> None: ...


def per_path(loader: Callable[..., T]) -> PerPath[T]:
    """Cache ``loader(path, *more)`` per path string (and any further hashable key)."""

    @lru_cache(maxsize=8)
    def at(path: str, *more: Any) -> T:
        return loader(Path(path), *more)

    @wraps(loader)
    def cached(path: str | Path, *more: Any) -> T:
        return at(str(path), *more)

    cached.cache_clear = at.cache_clear  # type: ignore[attr-defined]  # a function attribute, declared by PerPath
    return cast(PerPath[T], cached)
