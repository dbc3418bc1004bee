"""Access to Twilio's REST API through the official `twilio` client, real or sandboxed."""
