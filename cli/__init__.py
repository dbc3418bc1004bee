"""The `wa-flex-handoff` command line: run, demo, connect, doctor, sandbox."""
