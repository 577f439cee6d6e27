"""Splitting an inbound message by case key (hub.ingest.partitions): every record lands in
exactly one part, with its sequence number in the parent; records of one case share a
part in the order they were sent; the parts are the same bytes every time."""

from __future__ import annotations

from collections import defaultdict

import msgspec

from hub.ingest.partitions import Envelope, part_id, partition_of, split
from synth.generator import Generator
from tests.helpers import xml_doc


def _records(seed: int, n: int):
    return [r for r, _ in Generator(seed=seed).records("case", n)]


def _envelopes(parts):
    return [msgspec.msgpack.decode(p.body, type=Envelope) for p in parts]


def test_every_record_in_exactly_one_part_with_its_parent_seq():
    cases = _records(11, 60)
    bad = dict(cases[5], case_type="不存在的类型")  # decodes, fails later: still travels
    body = xml_doc([*cases, bad], message_id="m-60")
    parts = split(body, "cs-approval", "ignored-header-id", 4)
    envs = _envelopes(parts)
    seqs = sorted(r[0] for e in envs for r in e.records)
    assert seqs == list(range(1, 62))
    assert [p.headers["message_id"] for p in parts] == [part_id("m-60", e.index, 4) for e in envs]
    assert all(p.headers["parent_message_id"] == "m-60" and p.records == len(e.records) for p, e in zip(parts, envs))
    for e in envs:  # a case goes where its key hashes
        for seq, *_ in e.records:
            if seq <= 60:
                assert partition_of("case", (cases[seq - 1]["case_no"],), 4) == e.index
    assert len(parts) > 1


def test_versions_of_one_case_share_a_part_in_send_order():
    cases = _records(12, 20)
    later = [dict(c, conclusion=f"{c.get('conclusion') or ''}（更正）") for c in cases]
    body = xml_doc([*cases, *later], message_id="m-versions")
    seqs_by_case = defaultdict(list)
    for e in _envelopes(split(body, "cs-approval", "m-versions", 4)):
        for seq, data, *_ in e.records:
            seqs_by_case[data["case_no"]].append((e.index, seq))
    assert len(seqs_by_case) == 20
    for entries in seqs_by_case.values():
        assert len({i for i, _ in entries}) == 1  # one part
        assert [s for _, s in entries] == sorted(s for _, s in entries) and len(entries) == 2


def test_parts_are_the_same_bytes_every_time():
    body = xml_doc(_records(13, 30), message_id="m-again")
    first = split(body, "cs-approval", "m-again", 4)
    again = split(body, "cs-approval", "m-again", 4)
    assert [(p.index, p.body, p.headers) for p in first] == [(p.index, p.body, p.headers) for p in again]


def test_one_partition_or_an_unknown_system_publishes_the_message_whole():
    body = xml_doc(_records(14, 5), message_id="m-whole")
    (one,) = split(body, "cs-approval", "m-whole", 1)
    assert one.body == body and one.headers["message_id"] == "m-whole"
    (unknown,) = split(body, "no-such-system", "m-whole", 4)
    assert unknown.body == body and unknown.content_type == "application/octet-stream"
