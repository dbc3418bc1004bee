"""Local emulation of the Twilio REST endpoints the service uses, plus a simulated WhatsApp contact and
Flex reps.

`twilio_sandbox.app.create_app()` builds the FastAPI app; `python -m twilio_sandbox` serves it;
`twilio_sandbox.testing.running_sandbox()` runs it in-process for tests.
"""
