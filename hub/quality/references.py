"""What reference checks look up in the resource libraries: the item catalogue
(``lib_item``) and the people / enterprise libraries (``lib_person``, ``lib_enterprise``).

One object per check run: the catalogue's codes are read once and kept; holders are
looked up for the batch's own numbers only (a library may hold millions)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, select

from hub.db.tables import LIBRARY

_CHUNK = 900  # stay under SQLite's bound-parameter limit


class LibraryReferences:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._item_codes: list[str] | None = None

    def item_codes(self) -> list[str]:
        if self._item_codes is None:
            t = LIBRARY["item"]
            with self.engine.connect() as conn:
                self._item_codes = sorted(conn.execute(select(t.c.item_code).distinct()).scalars())
        return self._item_codes

    def _known(self, column, values: Sequence[str]) -> set[str]:
        wanted = sorted(set(values))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                found.update(conn.execute(select(column).where(column.in_(wanted[i : i + _CHUNK]))).scalars())
        return found

    def known_people(self, id_nos: Sequence[str]) -> set[str]:
        return self._known(LIBRARY["person"].c.id_no, id_nos)

    def known_enterprises(self, usccs: Sequence[str]) -> set[str]:
        return self._known(LIBRARY["enterprise"].c.uscc, usccs)
