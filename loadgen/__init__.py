"""Load and fault driver: N concurrent scripted WhatsApp conversations through the real stack (`run`), with
injected faults, checked afterwards from the Twilio sandbox's own record. Used by tests/faults and
bench/faults.py."""
