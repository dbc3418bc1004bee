"""Pure decisions of the conversation workflow, one concern per module (no I/O, no clock: callers
pass `now`)."""
