"""COPY text built by hand (techsupport/pgcopy.py): escaping, and the ids it makes."""

import uuid
from datetime import UTC, datetime

from techsupport.pgcopy import NULL, Uuid4Pool, copy_text, uuid4_strings


def test_copy_text_escapes_what_copy_reads_as_syntax():
    assert copy_text("tab\there") == "tab\\there"
    assert copy_text("line\nbreak\rreturn") == "line\\nbreak\\rreturn"
    assert copy_text("back\\slash") == "back\\\\slash"
    assert copy_text("«plain» ünïcode 'quotes' \"double\"") == "«plain» ünïcode 'quotes' \"double\""


def test_copy_text_of_other_values():
    assert copy_text(None) == NULL == "\\N"
    assert (copy_text(True), copy_text(False), copy_text(0), copy_text(12)) == ("t", "f", "0", "12")
    assert copy_text(datetime(2026, 12, 5, 8, 30, tzinfo=UTC)) == "2026-12-05T08:30:00+00:00"
    some = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    assert copy_text(some) == "12345678-1234-4234-8234-123456789abc"
    # JSON, then escaped like any text: a newline inside a JSON string is already `\n` (two
    # characters), whose backslash COPY must read as a backslash.
    assert (
        copy_text({"a": "x\ny", "n": 1, "ok": True, "none": None})
        == '{"a": "x\\\\ny", "n": 1, "ok": true, "none": null}'
    )


def test_copy_text_of_a_text_choice_is_its_value():
    from tickets.models import Notification

    assert copy_text(Notification.Kind.SLA_BREACH) == "sla_breach"
    assert type(copy_text(Notification.Kind.SLA_BREACH)) is str


def test_uuid4_strings_are_random_version_4_uuids():
    ids = uuid4_strings(2000)

    assert len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_the_pool_hands_out_each_id_once():
    pool = Uuid4Pool()

    taken = [pool.take(n) for n in (1, 5, 1500, 3)]

    assert [len(ids) for ids in taken] == [1, 5, 1500, 3]
    assert len({i for ids in taken for i in ids}) == 1509
