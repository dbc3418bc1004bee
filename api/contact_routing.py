"""Which conversation a contact message belongs to: the one its (org, business number, address) names, unless
the contact is known by a business-scoped user id (BSUID) and a conversation already carries it.

A contact first known by their number and later only by their BSUID (or the other way round) stays one
conversation: a conversation that has seen the contact's BSUID publishes a digest of it (`ContactRef`), and a
message carrying a BSUID is routed to that conversation. A cache spares visibility the look-up for every message
(visibility is eventually consistent: two first messages of a new contact within a second can still start two
conversations, docs/DESIGN.md §6.4).
"""

from __future__ import annotations

from collections import OrderedDict

from temporalio.client import Client

from api.temporal import WEBHOOK_DEADLINE
from contracts.contacts import contact_ref
from contracts.ids import conversation_key, parse_workflow_id
from contracts.signals import WORKFLOW_NAME, ContactMessage

CACHE_SIZE = 50_000


class ContactRouting:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._known: OrderedDict[str, str] = OrderedDict()

    async def conversation_key(self, client: Client, org: str, message: ContactMessage) -> str:
        """The conversation key (see contracts.ids) the message goes to."""
        own = conversation_key(org, message.business_number, message.contact_address)
        if message.contact_bsuid is None:
            return own
        ref = contact_ref(org, message.business_number, message.contact_bsuid)
        known = self._known.get(ref)
        if known is None:
            query = f"WorkflowType = '{WORKFLOW_NAME}' AND OrgId = '{org}' AND ContactRef = '{ref}'"
            found = [w.id async for w in client.list_workflows(query, limit=1, rpc_timeout=WEBHOOK_DEADLINE)]
            known = parse_workflow_id(found[0])[1] if found else own
            self.remember(ref, known)
        return known

    def remember(self, ref: str, key: str) -> None:
        self._known[ref] = key
        self._known.move_to_end(ref)
        while len(self._known) > self._size:
            self._known.popitem(last=False)
