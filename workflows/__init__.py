"""Workflow code: the conversation workflow, its state model and the pure WhatsApp/Flex rules.

Everything in this package is loaded inside Temporal's workflow sandbox: no I/O, no `twilio`, `fastapi`,
`httpx` or environment-reading settings may be imported here.
"""
