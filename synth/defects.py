"""The deliberate defects: which ones each kind can carry, how a record gets exactly one,
and streams of records with a given share of defective ones.

The labels are stable: tests map them to quarantine reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta

from hub.model.codes import idcard
from synth.axis import _DAY, _OPEN_S
from synth.hashing import _USCC_ALPHA

KINDS = ("case", "item", "licence", "person", "enterprise", "project", "evaluation", "supervision")

#: Injectable defects per kind. The labels are stable: tests map them to quarantine reasons.
DEFECT_KINDS: dict[str, tuple[str, ...]] = {
    "case": (
        "id_check_char",  # applicant_id_no (type 111): wrong check character
        "uscc_check_char",  # dept_code: wrong check character
        "missing_required",  # case_no or applicant_name absent
        "bad_enum",  # case_type 'XX件'
        "time_order",  # accept_time before apply_time
        "unknown_division",  # region_code 329999
        "promise_exceeds_legal",  # promise_days > legal_days
        "bad_datetime",  # apply_time on 30 February
        "too_long",  # case_name of 5,000 characters
        "future_apply",  # apply_time a year from today (case still 申报)
        "id_birth_date",  # applicant ID with an impossible birth date, correct check
    ),
    "item": ("missing_required", "bad_enum", "uscc_check_char", "promise_exceeds_legal"),
    "licence": ("missing_required", "bad_enum", "licence_id_check_char", "holder_id_check_char", "time_order"),
    "person": ("missing_required", "bad_enum", "id_check_char", "id_birth_date"),
    "enterprise": ("missing_required", "bad_enum", "uscc_check_char"),
    "project": ("missing_required", "bad_enum", "uscc_check_char", "unknown_division"),
    "evaluation": ("missing_required", "bad_enum", "bad_satisfaction", "uscc_check_char"),
    "supervision": ("missing_required", "bad_enum", "time_order", "uscc_check_char"),
}

# Which field(s) each "missing_required" defect may drop, per kind (one is chosen).
_MISSING = {
    "case": ("case_no", "applicant_name"),
    "item": ("item_code", "item_name"),
    "licence": ("licence_no", "holder_name"),
    "person": ("id_no", "name"),
    "enterprise": ("uscc", "name"),
    "project": ("project_name", "owner_uscc"),
    "evaluation": ("eval_no", "satisfaction"),
    "supervision": ("supervision_no", "dept_name"),
}
# (field, value) of each "bad_enum" defect.
_BAD_ENUM = {
    "case": ("case_type", "XX件"),
    "item": ("item_type", "99"),
    "licence": ("status", "作废中"),
    "person": ("gender", "未知"),
    "enterprise": ("status", "营业中"),
    "project": ("project_type", "登记"),
    "evaluation": ("channel", "9"),
    "supervision": ("level", "橙牌"),
}
UNKNOWN_DIVISION = "329999"


def _wrong_check(code: str, alphabet: str, r: Callable[[], float]) -> str:
    """``code`` with its last character replaced by a different symbol of ``alphabet``."""
    choices = alphabet.replace(code[-1], "")
    return code[:-1] + choices[int(r() * len(choices))]


class Defects:
    """``records()`` and ``defective()`` of the generator."""

    def records(
        self,
        kind: str,
        n: int,
        defect_rate: float = 0.0,
        defects: Sequence[str] | None = None,
    ) -> Iterator[tuple[dict, str | None]]:
        """Yield ``n`` ``(record, defect)`` pairs of ``kind``.

        Exactly ``round(n * defect_rate)`` records, at random positions (selection
        sampling: O(1) memory), carry one defect drawn from ``defects`` (default: all of
        :data:`DEFECT_KINDS[kind]`); the others are valid and carry ``None``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= defect_rate <= 1.0:
            raise ValueError("defect_rate must be between 0 and 1")
        available = DEFECT_KINDS[kind]
        pool = tuple(defects) if defects is not None else available
        bad = [d for d in pool if d not in available]
        if bad:
            raise ValueError(f"{kind} has no defects {bad}; available: {', '.join(available)}")
        if defect_rate and not pool:
            raise ValueError("defect_rate > 0 needs at least one defect")
        yield from self._records(kind, n, defect_rate, pool)  # a generator: errors surface on iteration

    def _records(
        self, kind: str, n: int, defect_rate: float, pool: tuple[str, ...]
    ) -> Iterator[tuple[dict, str | None]]:
        make = getattr(self, kind)
        r = self._r
        k = round(n * defect_rate)
        for i in range(n):
            # Knuth's selection sampling: choose exactly k of n positions, uniformly.
            if k and r() * (n - i) < k:
                k -= 1
                d = pool[int(r() * len(pool))]
                yield self.defective(kind, d), d
            else:
                yield make(), None

    def defective(self, kind: str, defect: str) -> dict:
        """One record of ``kind`` carrying exactly the defect ``defect``."""
        if defect not in DEFECT_KINDS.get(kind, ()):
            raise ValueError(f"{kind} has no defect {defect!r}; available: {', '.join(DEFECT_KINDS.get(kind, ()))}")
        return getattr(self, f"_defect_{defect}")(kind)

    # -- defects any kind may carry -----------------------------------------------------

    def _defect_missing_required(self, kind: str) -> dict:
        rec = getattr(self, kind)()
        fields = _MISSING[kind]
        del rec[fields[int(self._r() * len(fields))]]
        return rec

    def _defect_bad_enum(self, kind: str) -> dict:
        rec = getattr(self, kind)()
        f, v = _BAD_ENUM[kind]
        rec[f] = v
        return rec

    def _defect_uscc_check_char(self, kind: str) -> dict:
        rec = getattr(self, kind)()
        f = {"project": "owner_uscc", "enterprise": "uscc"}.get(kind, "dept_code")
        rec[f] = _wrong_check(rec[f], _USCC_ALPHA, self._r)
        return rec

    def _defect_unknown_division(self, kind: str) -> dict:
        rec = getattr(self, kind)()
        rec["region_code"] = UNKNOWN_DIVISION
        return rec

    def _defect_promise_exceeds_legal(self, kind: str) -> dict:
        rec = getattr(self, kind)()
        rec["promise_days"] = rec["legal_days"] + 1 + int(self._r() * 10)
        return rec

    # -- identities ---------------------------------------------------------------------

    def _defect_id_check_char(self, kind: str) -> dict:
        if kind == "case":
            rec = self.case(_applicant="p")
            rec["applicant_id_no"] = _wrong_check(rec["applicant_id_no"], "0123456789X", self._r)
        else:
            rec = self.person()
            rec["id_no"] = _wrong_check(rec["id_no"], "0123456789X", self._r)
        return rec

    def _defect_id_birth_date(self, kind: str) -> dict:
        if kind == "case":
            rec = self.case(_applicant="p")
            rec["applicant_id_no"] = self._impossible_birth(rec["applicant_id_no"])
        else:
            rec = self.person()
            rec["id_no"] = self._impossible_birth(rec["id_no"])
            del rec["birth_date"]  # an impossible date has no birth_date to go with it
        return rec

    def _impossible_birth(self, id_no: str) -> str:
        """Same address and sequence, birth date 30 Feb or month 13, valid check character."""
        y = id_no[6:10]
        bad = f"{y}0230" if self._r() < 0.5 else f"{y}13{1 + int(self._r() * 28):02d}"
        first17 = id_no[:6] + bad + id_no[14:17]
        return first17 + idcard.check_char(first17)

    # -- time order ---------------------------------------------------------------------

    def _defect_time_order(self, kind: str) -> dict:
        r = self._r
        if kind == "case":
            # A 承诺件 that was accepted: moving its acceptance breaks no other rule
            # (a 即办件 would also stop finishing on its acceptance day).
            rec = self.case()
            while "accept_time" not in rec or rec["case_type"] == "即办件":
                rec = self.case()
            t = self._parse(rec["apply_time"]) - 3600 - int(r() * 3 * _DAY)
            rec["accept_time"] = self._fmt(t)
        elif kind == "licence":
            rec = self.licence()
            d = date.fromisoformat(rec["issue_date"])
            rec["valid_from"] = rec["issue_date"]
            rec["valid_to"] = (d - timedelta(days=1 + int(r() * 300))).isoformat()
            rec["status"] = "过期"  # consistent with the (wrong) end date: one defect only
            rec["face_items"][2]["value"] = f"{rec['valid_from']}至{rec['valid_to']}"
        else:  # supervision: end before raised
            rec = self.supervision(_closed=True)
            while "end_time" not in rec:
                rec = self.supervision(_closed=True)
            t = self._parse(rec["raised_time"]) - 3600 - int(r() * 3 * _DAY)
            rec["end_time"] = self._fmt(t)
        return rec

    # -- one kind each ------------------------------------------------------------------

    def _defect_bad_datetime(self, kind: str) -> dict:
        rec = self.case()
        rec["apply_time"] = f"{rec['apply_time'][:4]}-02-30{rec['apply_time'][10:]}"
        return rec

    def _defect_too_long(self, kind: str) -> dict:
        rec = self.case()
        rec["case_name"] = (rec["case_name"] * (5000 // len(rec["case_name"]) + 1))[:5000]
        return rec

    def _defect_future_apply(self, kind: str) -> dict:
        # A case just submitted (申报), stamped a year ahead: only apply_time is wrong.
        rec = self.case(_state="submitted")
        t = (self._today_idx + 365) * _DAY + _OPEN_S + int(self._r() * 30000)
        rec["apply_time"] = self._fmt(t)
        rec.pop("source_time", None)
        return rec

    def _defect_licence_id_check_char(self, kind: str) -> dict:
        rec = self.licence()
        rec["licence_id"] = _wrong_check(rec["licence_id"], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", self._r)
        return rec

    def _defect_holder_id_check_char(self, kind: str) -> dict:
        rec = self.licence(_holder="p")
        rec["holder_id_no"] = _wrong_check(rec["holder_id_no"], "0123456789X", self._r)
        return rec

    def _defect_bad_satisfaction(self, kind: str) -> dict:
        rec = self.evaluation()
        rec["satisfaction"] = "6"
        return rec
