"""Optional SQLite persistence (`--db FILE`): the whole state is snapshotted after every change and reloaded at
start, so a restarted sandbox keeps its conversations, tasks and SIDs (new SIDs come from a new run, see
`sids.py`). One row, pickled: the file is the sandbox's own, never shared with anything else."""

from __future__ import annotations

import pickle
import sqlite3
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from twilio_sandbox.core import Sandbox
from twilio_sandbox.state import SandboxState, Table

SCHEMA = "CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), salt TEXT, data BLOB)"


def with_indexes(state: SandboxState) -> SandboxState:
    """Bring an older snapshot up to today's state: a collection the snapshot does not have yet starts empty, and
    one written before the tables were indexed (plain dicts) has its rows moved into the indexed tables."""
    fresh = SandboxState(account_sid=state.account_sid, workspace=state.workspace)
    for f in fields(SandboxState):
        empty = getattr(fresh, f.name)
        if f.name not in vars(state):
            setattr(state, f.name, empty)
            continue
        held = getattr(state, f.name)
        if isinstance(empty, Table) and not isinstance(held, Table):
            empty.update(held)
            setattr(state, f.name, empty)
    return state


class SqliteStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, check_same_thread=False)
        self.conn.execute(SCHEMA)
        self.conn.commit()

    def save(self, sb: Sandbox) -> None:
        payload: dict[str, Any] = {
            "state": sb.state,
            "clock_offset": sb.clock.offset.total_seconds(),
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO snapshot (id, salt, data) VALUES (1, ?, ?)",
            (sb.seed.salt, pickle.dumps(payload)),
        )
        self.conn.commit()

    def load(self, sb: Sandbox) -> bool:
        """Restore a snapshot made with the same seed salt; False when there is none (or another seed's)."""
        row = self.conn.execute("SELECT salt, data FROM snapshot WHERE id = 1").fetchone()
        if row is None or row[0] != sb.seed.salt:
            return False
        payload = pickle.loads(row[1])
        sb.state = with_indexes(payload["state"])
        sb.clock.offset = timedelta(seconds=payload["clock_offset"])
        return True

    def close(self) -> None:
        self.conn.close()
