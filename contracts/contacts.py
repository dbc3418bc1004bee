"""Who a WhatsApp contact is: a phone number, a business-scoped user id (BSUID), or both.

WhatsApp users who adopt a username hide their number; Meta gives each of them a BSUID per business
(`US.13491208655302741918`, parent `US.ENT.…`). Twilio has no documentation of it yet: integrations show the inbound
Messaging webhook carrying `ExternalUserId` (the BSUID), `ParentExternalUserId` and `ProfileUsername` (or
`Username`), and `From=whatsapp:<BSUID>` when the number is hidden (docs/DESIGN.md §6.4). Every reading of those
fields is here, so it changes in one place when Twilio documents them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import BaseModel

from contracts.ids import BSUID, is_bsuid, normalize_contact_address, strip_channel


class ContactIdentity(BaseModel):
    """What one inbound webhook says about its sender."""

    address: str  # where the conversation is keyed and replies go: the number when given, else the BSUID
    phone: str | None = None
    bsuid: str | None = None
    parent_bsuid: str | None = None
    username: str | None = None

    @property
    def phone_hidden(self) -> bool:
        return self.phone is None


def contact_identity(fields: Mapping[str, str]) -> ContactIdentity:
    """The sender of an inbound Messaging webhook (raises ValueError naming the field at fault)."""
    sender = fields.get("From", "")
    try:
        address = normalize_contact_address(sender)
    except ValueError:
        raise ValueError("From") from None
    bsuid = _optional_bsuid(fields, "ExternalUserId")
    parent = _optional_bsuid(fields, "ParentExternalUserId")
    phone = None if is_bsuid(address) else address
    if bsuid is None and is_bsuid(address):
        bsuid = address
    username = (fields.get("ProfileUsername") or fields.get("Username") or "").strip() or None
    return ContactIdentity(address=address, phone=phone, bsuid=bsuid, parent_bsuid=parent, username=username)


def _optional_bsuid(fields: Mapping[str, str], name: str) -> str | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    if not BSUID.match(value):
        raise ValueError(name)
    return value


def contact_ref(org: str, business_number: str, bsuid: str) -> str:
    """The `ContactRef` search attribute of a conversation whose contact has this BSUID: a digest, so no
    identifier of the person is stored in visibility; it lets a webhook without the number find the
    conversation that began with it."""
    return hashlib.sha256(f"{org}|{business_number}|{bsuid}".encode()).hexdigest()[:32]


def mask_address(address: str | None) -> str | None:
    """For logs: `+14155238886` → `+*********86`, `US.13491208655302741918` → `US.*****************18`."""
    if address is None:
        return None
    value = strip_channel(address)
    if BSUID.match(value):
        head, _, rest = value.rpartition(".")
        return f"{head}." + "*" * max(len(rest) - 2, 0) + rest[-2:]
    digits = [ch for ch in value if ch.isdigit()]
    if len(digits) <= 2:
        return "*" * len(value)
    return ("+" if value.startswith("+") else "") + "*" * (len(digits) - 2) + "".join(digits[-2:])
