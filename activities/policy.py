"""`load_policy`: an org's conversation policy as the worker's orgs file says now (read again when it changed)."""

from __future__ import annotations

from temporalio import activity

from config.orgs import OrgsSource
from contracts.activities import LOAD_POLICY, LoadPolicyInput, LoadPolicyResult


class PolicyActivities:
    def __init__(self, orgs: OrgsSource) -> None:
        self._orgs = orgs

    @activity.defn(name=LOAD_POLICY.name)
    def load_policy(self, inp: LoadPolicyInput) -> LoadPolicyResult:
        org = self._orgs.current().get(inp.org)
        return LoadPolicyResult(policy=org.policy() if org is not None else None)
