"""The `hand_off` activity: merge the six handoff attributes, post the handoff note, hand the task to the humans,
in one round trip to the server (see `HandOffInput`). A retryable failure of a step is first repeated in place,
briefly; a failure that remains fails the activity, and its retry (or the workflow's next handoff round) redoes
the steps, each idempotent, so nothing is done twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from temporalio import activity

from activities.blocking import STEP_BACKOFF_SECONDS, heartbeating, in_thread, repeat_in_place
from activities.twilio_activities import TwilioActivities, post_again
from contracts.activities import (
    HAND_OFF,
    HandOffInput,
    HandOffResult,
    HandToHumansInput,
    HandToHumansResult,
    MergeHandoffAttributesInput,
    MergeHandoffAttributesResult,
    PostToFlexInput,
    PostToFlexResult,
)


@dataclass(frozen=True)
class HandOffSteps:
    """The activity passes the real steps, workflow tests their fakes."""

    merge: Callable[[MergeHandoffAttributesInput], Awaitable[MergeHandoffAttributesResult]]
    post: Callable[[PostToFlexInput], Awaitable[PostToFlexResult]]
    hand: Callable[[HandToHumansInput], Awaitable[HandToHumansResult]]


async def hand_off(inp: HandOffInput, steps: HandOffSteps, *, backoff: float = STEP_BACKOFF_SECONDS) -> HandOffResult:
    async with heartbeating():
        attributes = None
        if inp.merge is not None:
            attributes = (await repeat_in_place(steps.merge, inp.merge, backoff=backoff)).attributes
        if inp.note is not None:
            await repeat_in_place(steps.post, inp.note, backoff=backoff, again=post_again)
        # The human task is routed on the attributes as written (the six included), not as the workflow knew them.
        hand = inp.hand if attributes is None else inp.hand.model_copy(update={"task_attributes": attributes})
        return HandOffResult(attributes=attributes, handed=await repeat_in_place(steps.hand, hand, backoff=backoff))


class HandOffActivity:
    def __init__(self, twilio: TwilioActivities, executor: Executor | None = None) -> None:
        self._twilio = twilio
        self._executor = executor

    @activity.defn(name=HAND_OFF.name)
    async def hand_off(self, inp: HandOffInput) -> HandOffResult:
        t, ex = self._twilio, self._executor
        steps = HandOffSteps(
            merge=lambda m: in_thread(ex, t.merge_handoff_attributes, m),
            post=lambda p: in_thread(ex, t.post_to_flex, p),
            hand=lambda h: in_thread(ex, t.hand_to_humans, h),
        )
        return await hand_off(inp, steps)
