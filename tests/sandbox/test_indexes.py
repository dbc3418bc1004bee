"""The sandbox's per-parent indexes and the record's position lookup: a long run must not slow the sandbox down
(every list of one conversation's messages used to read every message of the account), and the indexes must
never disagree with the rows."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest

from twilio_sandbox.clock import SandboxClock
from twilio_sandbox.record import MAX_ENTRIES, Recorder
from twilio_sandbox.state import Table


@dataclass
class Row:
    sid: str
    parent: str
    other: str = ""


def test_where_finds_rows_by_parent_in_creation_order_and_follows_deletes_and_replacements() -> None:
    t: Table[Row] = Table("parent", "other")
    t["a"], t["b"], t["c"] = Row("a", "p1", "x"), Row("b", "p2", "x"), Row("c", "p1", "y")
    assert [r.sid for r in t.where("parent", "p1")] == ["a", "c"]
    assert [r.sid for r in t.where("other", "x")] == ["a", "b"]
    del t["a"]
    assert [r.sid for r in t.where("parent", "p1")] == ["c"]
    t["c"] = Row("c", "p2", "y")  # replaced under the same sid: indexed under its new parent only
    assert t.where("parent", "p1") == []
    assert [r.sid for r in t.where("parent", "p2")] == ["b", "c"]
    assert t.pop("b").sid == "b" and [r.sid for r in t.where("parent", "p2")] == ["c"]
    assert t.where("parent", "nobody") == [] and len(t) == 1 and list(t) == ["c"]
    with pytest.raises(KeyError):
        del t["gone"]


def test_where_returns_a_copy_so_callers_may_change_the_table_while_walking_it() -> None:
    t: Table[Row] = Table("parent")
    t["a"], t["b"] = Row("a", "p"), Row("b", "p")
    for row in t.where("parent", "p"):
        del t[row.sid]
    assert len(t) == 0 and t.where("parent", "p") == []


def test_a_pickled_table_keeps_its_indexes() -> None:
    """persistence.py snapshots the state with pickle: a restarted sandbox must still find children."""
    t: Table[Row] = Table("parent")
    t["a"], t["b"] = Row("a", "p"), Row("b", "q")
    back = pickle.loads(pickle.dumps(t))
    assert [r.sid for r in back.where("parent", "p")] == ["a"]
    back["c"] = Row("c", "p")
    assert [r.sid for r in back.where("parent", "p")] == ["a", "c"]


def test_record_after_returns_exactly_the_later_entries_also_once_the_record_is_trimmed() -> None:
    rec = Recorder(SandboxClock())
    assert rec.after(0) == []
    for i in range(MAX_ENTRIES + 50):
        rec.add("x", i=i)
    first = rec.entries[0]["seq"]
    assert first == 51
    assert [e["seq"] for e in rec.after(MAX_ENTRIES + 47)] == [MAX_ENTRIES + 48, MAX_ENTRIES + 49, MAX_ENTRIES + 50]
    assert rec.after(0) == rec.entries  # older than the oldest kept: everything kept
    assert rec.after(MAX_ENTRIES + 50) == []
    assert all(e["seq"] > 1000 for e in rec.after(1000)) and len(rec.after(1000)) == MAX_ENTRIES + 50 - 1000


def test_a_snapshot_from_before_the_indexes_loads_into_indexed_tables() -> None:
    """`--db` snapshots written by an older sandbox hold plain dicts: loading one must not lose `where`."""
    from datetime import UTC, datetime

    from twilio_sandbox.persistence import with_indexes
    from twilio_sandbox.state import Participant, SandboxState, Workspace

    now = datetime.now(UTC)
    old = SandboxState(account_sid="AC1", workspace=Workspace("WS1", "ws", "WA1", "WA2", now, now))
    p = Participant("MB1", "CH1", "alice", "{}", now, now)
    old.participants = {"MB1": p}  # type: ignore[assignment]
    state = with_indexes(old)
    assert isinstance(state.participants, Table)
    assert state.participants.where("conversation_sid", "CH1") == [p]
    assert state.participants["MB1"] is p
