"""A project's trusted signing keys: one small stream per project (and project generation),
so a project deleted and created again under its name starts with no keys.

The key's identity is its fingerprint (sha256 of the DER SubjectPublicKeyInfo, computed by
infra/signatures/keys.py, since the domain does no cryptography); the PEM is public material
and travels in the event, so the log alone rebuilds the key set at any moment.
"""

import re

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NotFound
from domain.names import check_text, project_stream_id

MAX_KEYS = 100  # per project: every pull under a gate may try each of them
FINGERPRINT = re.compile(r"[0-9a-f]{64}")
ALGORITHMS = ("ecdsa-p256", "ed25519", "rsa")


def trusted_keys_id(project: str, generation: int):
    return project_stream_id("trusted-keys", generation, project)


def check_key_name(name: object) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 128:
        raise BadRequest("name must be 1 to 128 characters", {"field": "name"})
    return check_text(name, "name")


def check_fingerprint(fingerprint: str) -> str:
    """A fingerprint as the API shows it (64 lower-case hex digits, `sha256:` optional)."""
    value = fingerprint.lower().removeprefix("sha256:")
    if not FINGERPRINT.fullmatch(value):
        raise NotFound("trusted key not found", {"fingerprint": fingerprint[:80]})
    return value


class TrustedKeys(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A project's set of trusted keys began (with its first key)."""

        project: str

    class KeyAdded(RegistryAggregate.Event):
        """A public key was added to the keys a project trusts to sign its artifacts."""

        project: str
        fingerprint: str
        name: str
        algorithm: str
        pem: str

        def apply(self, keys: "TrustedKeys") -> None:
            keys.keys[self.fingerprint] = self.name

    class KeyRemoved(RegistryAggregate.Event):
        """A public key was removed from the keys a project trusts."""

        project: str
        fingerprint: str
        name: str

        def apply(self, keys: "TrustedKeys") -> None:
            keys.keys.pop(self.fingerprint, None)

    def __init__(self, project: str) -> None:
        self.project = project
        self.keys: dict[str, str] = {}

    @classmethod
    def start(cls, project: str, generation: int, actor: Actor) -> "TrustedKeys":
        return cls._create(cls.Started, id=trusted_keys_id(project, generation), project=project,
                           **actor.fields())

    def add(self, fingerprint: str, name: str, algorithm: str, pem: str, actor: Actor) -> None:
        check_key_name(name)
        if algorithm not in ALGORITHMS:
            raise BadRequest(f"unsupported key algorithm {algorithm}", {"field": "public_key"})
        if fingerprint in self.keys:
            raise Conflict("the project already trusts this key", {"fingerprint": fingerprint})
        if name in self.keys.values():
            raise Conflict("the project has a trusted key with that name", {"name": name})
        if len(self.keys) >= MAX_KEYS:
            raise BadRequest(f"a project trusts at most {MAX_KEYS} keys", {"field": "public_key"})
        self.trigger_event(self.KeyAdded, project=self.project, fingerprint=fingerprint, name=name,
                           algorithm=algorithm, pem=pem, **actor.fields())

    def remove(self, fingerprint: str, actor: Actor) -> None:
        if fingerprint not in self.keys:
            raise NotFound("trusted key not found", {"fingerprint": fingerprint})
        self.trigger_event(self.KeyRemoved, project=self.project, fingerprint=fingerprint,
                           name=self.keys[fingerprint], **actor.fields())
