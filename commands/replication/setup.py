"""Commands on registry endpoints and replication policies (domain/replication/setup.py).

A registry's access secret is sealed here, before the event is made: events and answers hold
it sealed only; the replication worker opens it to talk to that registry.
"""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.replication.endpoints import EndpointSpec
from domain.replication.policy import PolicySpec
from domain.replication.setup import SETUP_ID, ReplicationSetup

SECRET = "replication registry secret"  # the purpose sealed secrets are bound to


class AddRegistry(msgspec.Struct, frozen=True):
    spec: EndpointSpec
    allow_link_local: bool
    actor: Actor


class ChangeRegistry(msgspec.Struct, frozen=True):
    registry_id: int
    spec: EndpointSpec
    allow_link_local: bool
    actor: Actor


class RemoveRegistry(msgspec.Struct, frozen=True):
    registry_id: int
    actor: Actor


class CreatePolicy(msgspec.Struct, frozen=True):
    spec: PolicySpec
    actor: Actor


class ChangePolicy(msgspec.Struct, frozen=True):
    policy_id: int
    spec: PolicySpec
    actor: Actor


class RemovePolicy(msgspec.Struct, frozen=True):
    policy_id: int
    actor: Actor


class ReplicationSetupCommands:
    def __init__(self, app: RegistryApplication, secrets) -> None:
        self.app = app
        self.secrets = secrets

    def current(self) -> ReplicationSetup:
        """The set-up as it is now (empty before the first registry)."""
        found = self.app.find(SETUP_ID, ReplicationSetup)
        return found if found is not None else ReplicationSetup.start()

    def secret(self, item: dict) -> str:
        """A registry's secret in clear, for the requests to that registry only."""
        sealed = item.get("access_secret", "")
        return self.secrets.open(sealed, SECRET) if sealed else ""

    def _sealed(self, spec: EndpointSpec) -> EndpointSpec:
        if not spec.access_secret:
            return spec
        return msgspec.structs.replace(spec, access_secret=self.secrets.seal(spec.access_secret, SECRET))

    def _save(self, setup: ReplicationSetup) -> Outcome:
        recordings = self.app.save(setup)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    @retried
    def add_registry(self, c: AddRegistry) -> tuple[int, Outcome]:
        setup = self.current()
        registry_id = setup.add_registry(self._sealed(c.spec), c.allow_link_local, c.actor)
        return registry_id, self._save(setup)

    @retried
    def change_registry(self, c: ChangeRegistry) -> Outcome:
        setup = self.current()
        setup.change_registry(c.registry_id, self._sealed(c.spec), c.allow_link_local, c.actor)
        return self._save(setup)

    @retried
    def remove_registry(self, c: RemoveRegistry) -> tuple[dict, Outcome]:
        setup = self.current()
        item = setup.remove_registry(c.registry_id, c.actor)
        return item, self._save(setup)

    @retried
    def create_policy(self, c: CreatePolicy) -> tuple[int, Outcome]:
        setup = self.current()
        policy_id = setup.create_policy(c.spec, c.actor)
        return policy_id, self._save(setup)

    @retried
    def change_policy(self, c: ChangePolicy) -> Outcome:
        setup = self.current()
        setup.change_policy(c.policy_id, c.spec, c.actor)
        return self._save(setup)

    @retried
    def remove_policy(self, c: RemovePolicy) -> tuple[dict, Outcome]:
        setup = self.current()
        item = setup.remove_policy(c.policy_id, c.actor)
        return item, self._save(setup)
