"""WhatsApp addresses as Twilio writes them: `whatsapp:<address>`, the address being a phone number (+E164) or,
for a user known only by username, a business-scoped user ID (BSUID). The one place that parses them.

BSUID format [doc, Meta and 360dialog]: an ISO 3166 alpha-2 country code, a period, up to 128 alphanumeric
characters (`US.13491208655302741918`); a parent BSUID shared across linked portfolios has `ENT` between them
(`US.ENT.…`). Twilio has not documented BSUIDs: the regular expression is the one chatwoot matches `From` with
[obs]."""

from __future__ import annotations

import re

PREFIX = "whatsapp:"
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9]{1,128}$")
PARENT_BSUID = re.compile(r"^[A-Z]{2}\.ENT\.[A-Za-z0-9]{1,128}$")


def wa(address: str) -> str:
    return address if address.startswith(PREFIX) else f"{PREFIX}{address}"


def bare(address: str) -> str:
    return address[len(PREFIX) :] if address.startswith(PREFIX) else address


def is_phone(address: str) -> bool:
    return bool(PHONE.match(address)) and not BSUID.match(address)


def is_bsuid(address: str) -> bool:
    return bool(BSUID.match(address)) and not PARENT_BSUID.match(address)


def is_parent_bsuid(address: str) -> bool:
    return bool(PARENT_BSUID.match(address))
