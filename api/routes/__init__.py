"""One router per file (fastapi/full-stack-fastapi-template layout)."""
