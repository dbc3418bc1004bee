"""The conversation's states and the transitions allowed between them: the one table every change goes through.

```
          handoff asked for             handed to the humans         a rep accepts
   ai ───────────────────► handoff_requested ────────────► queued ◄──────────────► with_rep
   ▲ │                          │                             │     a transfer        │
   │ └── idle ──► closed        └──────── session ended ──────┴───────────────────────┘
   └──────────────────────────────────────── (back to the AI) ◄────────────────────────┘
```
`stuck` is a flag, not a state: a handoff that keeps failing, or a queue wait past its SLA.
"""

from __future__ import annotations

from contracts.views import StateName

TRANSITIONS: dict[StateName, frozenset[StateName]] = {
    "ai": frozenset({"handoff_requested", "closed"}),
    "handoff_requested": frozenset({"queued", "ai"}),
    "queued": frozenset({"with_rep", "ai"}),
    # A rep transfers the conversation to another rep or queue: it waits again until someone accepts.
    "with_rep": frozenset({"ai", "queued"}),
    "closed": frozenset(),
}


class IllegalTransition(RuntimeError):
    """A bug: the code moved the conversation along an edge the table does not have. Raised inside the workflow,
    it fails the workflow task (retried until fixed), so the conversation stops rather than going astray."""


def check_transition(current: StateName, target: StateName, why: str) -> None:
    """Staying in a state is always allowed; anything else must be in `TRANSITIONS`."""
    if target != current and target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} → {target} is not a conversation transition ({why})")
