"""The replication set-up: registry endpoints and replication policies, in one small stream.

They are few and edited by system administrators; one stream makes unique names, Harbor's
integer ids (counters kept here, never reused) and the references between them plain
invariants: a policy names registries that exist, a registry a policy uses cannot be
removed (Harbor answers 412). Two racing writers meet a conflict on the stream and the
command runs again.
"""

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from domain.names import stream_id
from domain.replication.endpoints import EndpointSpec, check_endpoint
from domain.replication.policy import LOCAL, PolicySpec, check_policy
from domain.replication.selection import is_metadata

SETUP_ID = stream_id("replication-setup")


class ReplicationSetup(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """The replication set-up was started (before its first registry)."""

    class RegistryAdded(RegistryAggregate.Event):
        registry_id: int
        registry: dict  # EndpointSpec fields, the secret sealed

        def apply(self, s: "ReplicationSetup") -> None:
            s.registries[self.registry_id] = {**self.registry, "created": self.timestamp.isoformat(),
                                              "updated": self.timestamp.isoformat()}
            s.next_registry = max(s.next_registry, self.registry_id + 1)

    class RegistryChanged(RegistryAggregate.Event):
        registry_id: int
        registry: dict

        def apply(self, s: "ReplicationSetup") -> None:
            s.registries[self.registry_id] = {**s.registries[self.registry_id], **self.registry,
                                              "updated": self.timestamp.isoformat()}

    class RegistryRemoved(RegistryAggregate.Event):
        registry_id: int
        registry_name: str

        def apply(self, s: "ReplicationSetup") -> None:
            s.registries.pop(self.registry_id, None)

    class PolicyCreated(RegistryAggregate.Event):
        policy_id: int
        policy: dict  # PolicySpec fields

        def apply(self, s: "ReplicationSetup") -> None:
            s.policies[self.policy_id] = {**self.policy, "created": self.timestamp.isoformat(),
                                          "updated": self.timestamp.isoformat(), "creator": self.actor}
            s.next_policy = max(s.next_policy, self.policy_id + 1)

    class PolicyChanged(RegistryAggregate.Event):
        policy_id: int
        policy: dict

        def apply(self, s: "ReplicationSetup") -> None:
            s.policies[self.policy_id] = {**s.policies[self.policy_id], **self.policy,
                                          "updated": self.timestamp.isoformat()}

    class PolicyRemoved(RegistryAggregate.Event):
        policy_id: int
        policy_name: str

        def apply(self, s: "ReplicationSetup") -> None:
            s.policies.pop(self.policy_id, None)

    def __init__(self) -> None:
        self.registries: dict[int, dict] = {}
        self.policies: dict[int, dict] = {}
        self.next_registry = 1
        self.next_policy = 1

    @classmethod
    def start(cls) -> "ReplicationSetup":
        return cls._create(cls.Started, id=SETUP_ID, actor="system", client_ip="", request_id="")

    # -- registries -------------------------------------------------------------------

    def registry(self, registry_id: int) -> dict:
        if registry_id not in self.registries:
            raise NotFound("registry not found", {"registry_id": registry_id})
        return self.registries[registry_id]

    def add_registry(self, spec: EndpointSpec, allow_link_local: bool, actor: Actor) -> int:
        spec = check_endpoint(spec, allow_link_local)
        self._registry_name_free(spec.name, 0)
        registry_id = self.next_registry
        self.trigger_event(self.RegistryAdded, registry_id=registry_id, registry=msgspec.to_builtins(spec),
                           **actor.fields())
        return registry_id

    def change_registry(self, registry_id: int, spec: EndpointSpec, allow_link_local: bool,
                        actor: Actor) -> None:
        """Record new settings; no secret given keeps the stored one for the same access key."""
        current = self.registry(registry_id)
        if spec.type != current["type"]:
            raise BadRequest("type: a registry's type cannot change; add another registry",
                             {"field": "type"})
        if spec.access_key and not spec.access_secret and spec.access_key == current.get("access_key"):
            spec = msgspec.structs.replace(spec, access_secret=current.get("access_secret", ""))
        spec = check_endpoint(spec, allow_link_local)
        self._registry_name_free(spec.name, registry_id)
        fields = msgspec.to_builtins(spec)
        if any(current.get(k) != v for k, v in fields.items()):
            self.trigger_event(self.RegistryChanged, registry_id=registry_id, registry=fields, **actor.fields())

    def remove_registry(self, registry_id: int, actor: Actor) -> dict:
        item = self.registry(registry_id)
        users = sorted(p["name"] for p in self.policies.values()
                       if registry_id in (p["src_registry_id"], p["dest_registry_id"]))
        if users:
            raise PreconditionFailed("the registry is used by replication policies: " + ", ".join(users)
                                     + "; delete or change them first", {"registry_id": registry_id})
        self.trigger_event(self.RegistryRemoved, registry_id=registry_id, registry_name=item["name"],
                           **actor.fields())
        return item

    def _registry_name_free(self, name: str, registry_id: int) -> None:
        for other_id, item in self.registries.items():
            if item["name"] == name and other_id != registry_id:
                raise Conflict(f"name: a registry named {name!r} exists", {"field": "name"})

    # -- policies ---------------------------------------------------------------------

    def policy(self, policy_id: int) -> dict:
        if policy_id not in self.policies:
            raise NotFound("replication policy not found", {"policy_id": policy_id})
        return self.policies[policy_id]

    def create_policy(self, spec: PolicySpec, actor: Actor) -> int:
        spec = self._checked(spec, 0)
        policy_id = self.next_policy
        self.trigger_event(self.PolicyCreated, policy_id=policy_id, policy=msgspec.to_builtins(spec),
                           **actor.fields())
        return policy_id

    def change_policy(self, policy_id: int, spec: PolicySpec, actor: Actor) -> None:
        current = self.policy(policy_id)
        fields = msgspec.to_builtins(self._checked(spec, policy_id))
        if any(current.get(k) != v for k, v in fields.items()):
            self.trigger_event(self.PolicyChanged, policy_id=policy_id, policy=fields, **actor.fields())

    def remove_policy(self, policy_id: int, actor: Actor) -> dict:
        item = self.policy(policy_id)
        self.trigger_event(self.PolicyRemoved, policy_id=policy_id, policy_name=item["name"], **actor.fields())
        return item

    def _checked(self, spec: PolicySpec, policy_id: int) -> PolicySpec:
        spec = check_policy(spec)
        for field, registry_id in (("src_registry", spec.src_registry_id), ("dest_registry", spec.dest_registry_id)):
            if registry_id != LOCAL and registry_id not in self.registries:
                raise BadRequest(f"{field}: no registry has id {registry_id}", {"field": field})
        if spec.src_registry_id != LOCAL and any(f.type == "label" for f in spec.filters) \
                and self.registries[spec.src_registry_id]["type"] != "harbor":
            raise BadRequest("filters: a pull policy filters on labels only from a registry of type harbor "
                             "(labels are Harbor's; other registries have none)", {"field": "filters"})
        if is_metadata(spec.filters) and self.registries[spec.dest_registry_id]["type"] != "harbor":
            raise BadRequest("filters: metadata replication goes to another Tidemark (a registry of type "
                             "harbor)", {"field": "dest_registry"})
        for other_id, item in self.policies.items():
            if item["name"] == spec.name and other_id != policy_id:
                raise Conflict(f"name: a replication policy named {spec.name!r} exists", {"field": "name"})
        return spec
