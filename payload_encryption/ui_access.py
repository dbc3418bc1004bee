"""The Temporal UI's way into the codec endpoint: a key in the URL path, derived from the admin token.

The UI calls a codec endpoint from the browser with no bearer token of ours (it sends only its own SSO token, and
only over HTTPS), so a person authorises their browser by pasting a URL that carries this key into the UI's codec
settings. The key is an HMAC of the admin token: it never reveals the token, and rotating the token revokes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"temporal-ui-codec-endpoint"
UI_CODEC_PREFIX = "/codec/ui"


def ui_access_key(admin_token: str) -> str:
    digest = hmac.new(admin_token.encode(), _PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def ui_codec_path(admin_token: str) -> str:
    """The path (below the API's base URL) to paste into the UI as its codec endpoint."""
    return f"{UI_CODEC_PREFIX}/{ui_access_key(admin_token)}"
