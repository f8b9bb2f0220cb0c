"""A project's webhook policy: which events go to which targets, in which form.

One stream per (project incarnation, policy name): a project deleted and created
again starts with no policies. A target's `auth_header` is stored in the events
sealed (infra/auth/secrets.py: the command side seals it before the event is made, the
sender opens it), and never shown: the public event form and the API answer
`REDACTED` instead. Events of older versions hold it in clear; they still load.
"""

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict
from domain.names import stream_id
from domain.webhooks.targets import REDACTED, PolicySpec


def policy_key(project: str, project_id: int, name: str):
    """The stream of a policy: one per project incarnation and name."""
    return stream_id("webhook-policy", project, str(project_id), name)


class WebhookPolicy(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A webhook policy was created in a project."""

        project: str
        project_id: int
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]
        enabled: bool

    class Recreated(RegistryAggregate.Event):
        """A policy was created again under the name of a deleted one."""

        project: str
        project_id: int
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]
        enabled: bool

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.__init__(self.project, self.project_id, self.name, self.description,
                            self.targets, self.event_types, self.enabled)

    class Updated(RegistryAggregate.Event):
        """A policy's description, targets or event types changed."""

        project: str
        name: str
        description: str
        targets: list[dict]
        event_types: list[str]

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.description, policy.targets = self.description, self.targets
            policy.event_types = self.event_types

    class EnabledChanged(RegistryAggregate.Event):
        """A policy was enabled or disabled."""

        project: str
        name: str
        enabled: bool

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.enabled = self.enabled

    class SecretsResealed(RegistryAggregate.Event):
        """The targets' auth headers were sealed again, with key `key_id` (key rotation, or
        a clear header of an older version sealed); nothing else changed."""

        project: str
        name: str
        targets: list[dict]
        key_id: str

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.targets = self.targets

    class ReplayRequested(RegistryAggregate.Event):
        """Deliver every matching event after `from_position` up to `to_position` again."""

        project: str
        name: str
        from_position: int
        to_position: int

    class Deleted(RegistryAggregate.Event):
        """A policy was deleted; its pending deliveries are dropped."""

        project: str
        name: str

        def apply(self, policy: "WebhookPolicy") -> None:
            policy.deleted = True

    def __init__(self, project: str, project_id: int, name: str, description: str,
                 targets: list[dict], event_types: list[str], enabled: bool) -> None:
        self.project = project
        self.project_id = project_id
        self.name = name
        self.description = description
        self.targets = targets
        self.event_types = event_types
        self.enabled = enabled
        self.deleted = False

    @classmethod
    def create(cls, project: str, project_id: int, spec: PolicySpec, actor: Actor) -> "WebhookPolicy":
        return cls._create(cls.Created, id=policy_key(project, project_id, spec.name), project=project,
                           project_id=project_id, **_fields(spec), enabled=spec.enabled,
                           **actor.fields())

    def recreate(self, spec: PolicySpec, actor: Actor) -> None:
        if not self.deleted:
            raise Conflict(f"name: a webhook policy named {self.name!r} exists in this project",
                           {"field": "name"})
        self.trigger_event(self.Recreated, project=self.project, project_id=self.project_id,
                           **_fields(spec), enabled=spec.enabled, **actor.fields())

    def update(self, spec: PolicySpec, actor: Actor) -> None:
        """Record what changed: targets, description and event types, then enabled."""
        self._alive()
        targets = [_keep_secret(t, self.targets) for t in _fields(spec)["targets"]]
        fields = {**_fields(spec), "targets": targets}
        if (fields["description"], targets, fields["event_types"]) != (
                self.description, self.targets, self.event_types):
            self.trigger_event(self.Updated, project=self.project, **fields, **actor.fields())
        if spec.enabled != self.enabled:
            self.trigger_event(self.EnabledChanged, project=self.project, name=self.name,
                               enabled=spec.enabled, **actor.fields())

    def reseal(self, targets: list[dict], key_id: str, actor: Actor) -> None:
        """Record the same targets with their auth headers sealed anew (only those may differ)."""
        self._alive()
        same = len(targets) == len(self.targets) and all(
            {**new, "auth_header": ""} == {**old, "auth_header": ""}
            for new, old in zip(targets, self.targets))
        if not same:
            raise Conflict("webhook policy changed meanwhile; reseal again", {"name": self.name})
        if targets != self.targets:
            self.trigger_event(self.SecretsResealed, project=self.project, name=self.name,
                               targets=targets, key_id=key_id, **actor.fields())

    def replay(self, from_position: int, to_position: int, actor: Actor) -> None:
        self._alive()
        if from_position < 0 or from_position >= to_position:
            raise BadRequest("from: must be a position or time before the newest event",
                             {"field": "from"})
        self.trigger_event(self.ReplayRequested, project=self.project, name=self.name,
                           from_position=from_position, to_position=to_position, **actor.fields())

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, project=self.project, name=self.name, **actor.fields())

    def _alive(self) -> None:
        if self.deleted:
            raise Conflict("webhook policy was deleted", {"name": self.name})


def _fields(spec: PolicySpec) -> dict:
    return {"name": spec.name, "description": spec.description,
            "targets": [msgspec.to_builtins(t) for t in spec.targets],
            "event_types": list(spec.event_types)}


def _keep_secret(target: dict, current: list[dict]) -> dict:
    """A target sent back with the redaction marker keeps the header it had (GET, edit, PUT)."""
    if target["auth_header"] != REDACTED:
        return target
    for old in current:
        if (old["type"], old["address"]) == (target["type"], target["address"]):
            return {**target, "auth_header": old["auth_header"]}
    raise BadRequest("targets.auth_header: the redacted value can only be sent back for an "
                     "unchanged target address", {"field": "targets.auth_header"})
