"""Who a simulated WhatsApp user is, whatever address names them: every chat, window, inbox and typing indicator is
filed under the contact's key, so a contact first known by phone who later presents a BSUID stays one contact.

What a username user's inbound webhook carries is [obs], not documented by Twilio: `From=whatsapp:<BSUID>` when
the phone number is withheld (else the phone, as today), `ExternalUserId` (BSUID), `ParentExternalUserId` (parent
BSUID) and `ProfileUsername` (sources in NOTES.md §12.2); `WaId` (the phone's digits) is left out when the number
is withheld (assumed). Sending `To=whatsapp:<BSUID>` is accepted for a known contact (assumed: Twilio's behaviour
is unknown, one integration saw 21211)."""

from __future__ import annotations

from twilio_sandbox.addresses import is_bsuid, is_phone
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.state import ContactIdentity, SandboxState


def key_of(state: SandboxState, address: str) -> str:
    """The contact key an address belongs to (the address itself for someone never seen)."""
    return state.contact_keys.get(address, address)


def identity(state: SandboxState, address: str) -> ContactIdentity:
    """The contact an address names, created on first sight (a phone or a BSUID)."""
    key = key_of(state, address)
    found = state.contacts.get(key)
    if found is not None:
        return found
    if is_phone(key):
        contact = ContactIdentity(key=key, phone=key)
    elif is_bsuid(key):
        contact = ContactIdentity(key=key, bsuid=key, phone_visible=False)
    else:
        raise TwilioError(400, 21211, f"Invalid contact {address!r}: use +E164 or a business-scoped user ID")
    state.contacts[key] = contact
    state.contact_keys[key] = key
    return contact


def set_identity(
    state: SandboxState,
    contact: ContactIdentity,
    *,
    bsuid: str | None,
    parent_bsuid: str | None,
    username: str | None,
    phone_visible: bool,
) -> ContactIdentity:
    """The contact presents a BSUID (and maybe a parent BSUID and a username), and shows or hides its number."""
    if bsuid is not None:
        owner = state.contact_keys.get(bsuid)
        if owner is not None and owner != contact.key:
            raise TwilioError(409, 20409, f"BSUID {bsuid} already belongs to contact {owner}")
        if contact.bsuid is not None and contact.bsuid != bsuid:
            # WhatsApp gives a new BSUID when the user changes number; the old one stops naming them.
            state.contact_keys.pop(contact.bsuid, None)
        contact.bsuid = bsuid
        state.contact_keys[bsuid] = contact.key
    if not phone_visible and contact.bsuid is None:
        raise TwilioError(400, 20001, "A contact without a visible phone number needs a BSUID")
    if phone_visible and contact.phone is None:
        raise TwilioError(400, 20001, f"Contact {contact.key} has no phone number to show")
    contact.parent_bsuid = parent_bsuid
    contact.username = username
    contact.phone_visible = phone_visible
    return contact


def inbound_from(contact: ContactIdentity) -> tuple[str, list[tuple[str, str]]]:
    """The address in an inbound webhook's `From` and the identity fields that go with it."""
    fields: list[tuple[str, str]] = []
    if contact.phone is not None and contact.phone_visible:
        address = contact.phone
        fields.append(("WaId", contact.phone.lstrip("+")))
    else:
        assert contact.bsuid is not None
        address = contact.bsuid
    if contact.bsuid is not None:
        fields.append(("ExternalUserId", contact.bsuid))
    if contact.parent_bsuid is not None:
        fields.append(("ParentExternalUserId", contact.parent_bsuid))
    if contact.username is not None:
        fields.append(("ProfileUsername", contact.username))
    return address, fields


def view(contact: ContactIdentity) -> dict[str, object]:
    address, fields = inbound_from(contact)
    return {
        "key": contact.key,
        "phone": contact.phone,
        "bsuid": contact.bsuid,
        "parent_bsuid": contact.parent_bsuid,
        "username": contact.username,
        "phone_visible": contact.phone_visible,
        "inbound_from": f"whatsapp:{address}",
        "inbound_fields": dict(fields),
    }
