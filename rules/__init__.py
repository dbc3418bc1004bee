"""WhatsApp and Flex rules as pure functions (no I/O, no clock of their own), each with its unit tests.

Imported by the workflow, the activities, the API and the CLI alike; imports only `contracts`.
"""
