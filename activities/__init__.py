"""Activities: thin, idempotent calls to Twilio (Flex, TaskRouter, Conversations, Messaging) and the AI backends.

Keep this file empty of imports: workflows import the pure models under this package.
"""
