"""HTTP Basic auth as Twilio accepts it: Account SID + auth token, or API key SID + secret."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request

from twilio_sandbox.core import get_sb
from twilio_sandbox.errors import TwilioError

_AUTH_HEADERS = {"WWW-Authenticate": 'Basic realm="Twilio API"'}


def credentials_ok(request: Request) -> bool:
    sb = get_sb(request)
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    if not sep:
        return False
    expected = {sb.seed.account_sid: sb.seed.auth_token, sb.seed.api_key_sid: sb.seed.api_key_secret}.get(user)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())


async def require_auth(request: Request) -> None:
    if not credentials_ok(request):
        raise TwilioError(401, 20003, "Authenticate", headers=_AUTH_HEADERS)


def check_account(request: Request, account_sid: str) -> None:
    if account_sid != get_sb(request).seed.account_sid:
        raise TwilioError(401, 20003, "Authenticate", headers=_AUTH_HEADERS)
