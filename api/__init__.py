"""The FastAPI app: Twilio webhooks (signed), the admin API and the Temporal UI codec endpoint."""
