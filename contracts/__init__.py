"""What crosses a boundary between the service's packages: signal, update and query payloads, the workflow's
input, activity names with their inputs and outputs, the AI's models, per-org policy, conversation ids and the
search attributes.

Workflows, activities, the API, the CLI and the benchmarks all import from here; this package imports nothing
of theirs. It is loaded inside Temporal's workflow sandbox too: no I/O, no `twilio`, `fastapi`, `httpx` or
environment-reading code.
"""
