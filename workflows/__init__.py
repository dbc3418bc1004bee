"""Workflow code: the conversation workflow and its state model.

Everything in this package is loaded inside Temporal's workflow sandbox: no I/O, no `twilio`, `fastapi`,
`httpx` or environment-reading code may be imported here. Pure rules live in `rules`, payloads in `contracts`.
"""
