"""TaskRouter's optimistic concurrency: an `ETag` on the operations whose responses Twilio's documents give one
(tasks, workers, reservations and their lists), `If-Match` honoured on their updates and deletes: a stale value
is refused with 412 / 20412 and changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twilio_sandbox.errors import TwilioError


def etag(revision: int) -> str:
    return str(revision)


def list_etag(rows: Iterable[tuple[str, int]]) -> str:
    """A list's ETag: changes whenever a listed row is added, removed or changed."""
    digest = hashlib.sha256("|".join(f"{sid}:{rev}" for sid, rev in rows).encode()).hexdigest()
    return digest[:32]


def with_etag(body: dict[str, Any], tag: str, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": tag})


def check_if_match(request: Request, current: str, what: str) -> None:
    """Refuse the request when it carries an `If-Match` that names neither `*` nor the current ETag."""
    header = request.headers.get("if-match")
    if header is None:
        return
    values = [v.strip().removeprefix("W/").strip('"') for v in header.split(",")]
    if "*" not in values and current not in values:
        raise TwilioError(412, 20412, f"The ETag of {what} does not match If-Match ({header})")
