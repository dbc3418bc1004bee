"""Connecting to Temporal and calling it from a request with a deadline, errors mapped to HTTP answers.

Twilio waits 5 s (Conversations) to 15 s (TaskRouter, Messaging): a call that cannot finish in time answers
503 so Twilio retries, instead of a 2xx for an event that was never recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

from api.errors import TemporalUnavailable
from config.settings import Settings
from payload_encryption.converter import build_data_converter

T = TypeVar("T")

# Below the shortest Twilio webhook timeout (5 s) so the 503 reaches Twilio before it gives up.
WEBHOOK_DEADLINE = timedelta(seconds=4)
ADMIN_DEADLINE = timedelta(seconds=10)


class WorkflowNotFound(Exception):
    """No running workflow with that id (never started, or finished)."""


async def connect(settings: Settings) -> Client:
    """Connect from the `temporalio.envconfig` profile (TEMPORAL_ADDRESS, _NAMESPACE, _API_KEY, TLS…).

    Lazy: the API starts even when Temporal is down; requests then answer 503 and `/readyz` says why.
    """
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", "localhost:7233")
    codec_keys = settings.codec_keys.get_secret_value() if settings.codec_keys else None
    return await Client.connect(**config, data_converter=build_data_converter(codec_keys), lazy=True)


async def call(operation: Awaitable[T], deadline: timedelta = WEBHOOK_DEADLINE) -> T:
    """Await a Temporal call; NOT_FOUND → WorkflowNotFound, unreachable/slow/other RPC failure → 503."""
    try:
        return await asyncio.wait_for(operation, deadline.total_seconds() + 0.5)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFound(exc.message) from None
        raise TemporalUnavailable(exc.status.name if exc.status else "rpc error") from None
    except TimeoutError:
        raise TemporalUnavailable("timed out") from None
    except (ConnectionError, OSError) as exc:
        raise TemporalUnavailable(type(exc).__name__) from None
    except RuntimeError as exc:
        # The lazy client raises RuntimeError("Failed client connect: …") while the server is unreachable.
        if "connect" in str(exc).lower():
            raise TemporalUnavailable("cannot connect") from None
        raise
