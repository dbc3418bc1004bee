"""Encryption of Temporal payloads (message bodies, phone numbers and profile names are PII).

`codec.py` is the AES-GCM payload codec, `keys.py` parses the key ring, `converter.py` builds the one data converter
that the worker, the API and the CLI share. Not imported by workflow code.
"""
