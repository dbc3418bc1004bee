"""Real HTTP: the Twilio sandbox's signed webhooks are accepted by the API served by uvicorn, and a forged
delivery is refused — the signer and the verifier agree on URL, port and parameters."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from api.app import create_app
from config.settings import Settings
from contracts.ids import workflow_id
from contracts.signals import SIGNAL_CONTACT_MESSAGE
from tests.api.conftest import TASK_QUEUE, recorded
from tests.api.twilio_signing import new_contact
from tests.seeded_orgs import seeded_orgs
from twilio_sandbox.testing import free_port, running_sandbox, serve_app


async def test_sandbox_inbound_webhook_is_accepted_over_http(temporal: Client, standin_worker: object) -> None:
    target = temporal.service_client.config.target_host

    async def factory(settings: Settings) -> Client:
        # Connected on uvicorn's own event loop.
        return await Client.connect(target, namespace=temporal.namespace, data_converter=temporal.data_converter)

    with running_sandbox() as sandbox_url:
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
            seed = (await sandbox.get("/_sandbox/seed")).json()
            port = free_port()
            api_url = f"http://127.0.0.1:{port}"
            app = create_app(
                Settings(_env_file=None, task_queue=TASK_QUEUE),
                seeded_orgs(seed, org="sbx", public_base_url=api_url, sandbox_url=None),
                factory,
            )
            with serve_app(app, port=port):
                business = seed["whatsapp_numbers"][0]
                hook = f"{api_url}/webhooks/sbx/whatsapp"
                assert (
                    await sandbox.post("/_sandbox/senders", json={"number": business, "webhook_url": hook})
                ).is_success
                contact = new_contact()
                sent = await sandbox.post(
                    f"/_sandbox/contacts/{contact}/messages",
                    json={"to": business, "body": "hello from the sandbox", "profile_name": "Ana"},
                )
                assert sent.status_code < 300, sent.text
                assert sent.json()["webhook_status"] == 200
                got = await recorded(temporal, workflow_id("sbx", business, contact), lambda r: len(r["signals"]) >= 1)
                [signal] = got["signals"]
                assert signal["name"] == SIGNAL_CONTACT_MESSAGE
                assert signal["payload"]["message_sid"] == sent.json()["message_sid"]
                assert signal["payload"]["body"] == "hello from the sandbox"

                # The same delivery re-signed with a wrong token is refused over real HTTP too.
                async with httpx.AsyncClient() as direct:
                    forged = await direct.post(
                        hook,
                        data={"MessageSid": "SM" + "0" * 32, "AccountSid": seed["account_sid"]},
                        headers={"X-Twilio-Signature": "forged"},
                    )
                assert forged.status_code == 403
