"""Commands on a project's trusted signing keys (domain/signing/trusted_keys.py)."""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import NotFound
from domain.project import Project, project_id
from domain.signing.trusted_keys import TrustedKeys, check_key_name, trusted_keys_id
from infra.signatures.keys import parse_public_key


class AddTrustedKey(msgspec.Struct, frozen=True):
    project: str
    name: object
    public_key: object  # PEM, checked here
    actor: Actor


class RemoveTrustedKey(msgspec.Struct, frozen=True):
    project: str
    fingerprint: str
    actor: Actor


class KeyOutcome(msgspec.Struct, frozen=True):
    position: int | None
    fingerprint: str


class TrustedKeyCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _generation(self, name: str) -> int:
        project = self.app.find(project_id(name), Project)
        if project is None or project.deleted:
            raise NotFound("project not found", {"project": name})
        return project.generation

    def _save(self, keys: TrustedKeys) -> int | None:
        recordings = self.app.save(keys)
        return max((r.notification.id for r in recordings), default=None)

    @retried
    def add(self, c: AddTrustedKey) -> KeyOutcome:
        name = check_key_name(c.name)
        key = parse_public_key(c.public_key)
        generation = self._generation(c.project)
        keys = self.app.find(trusted_keys_id(c.project, generation), TrustedKeys)
        if keys is None:
            keys = TrustedKeys.start(c.project, generation, c.actor)
        keys.add(key.fingerprint, name, key.algorithm, key.pem, c.actor)
        return KeyOutcome(self._save(keys), key.fingerprint)

    @retried
    def remove(self, c: RemoveTrustedKey) -> Outcome:
        keys = self.app.find(trusted_keys_id(c.project, self._generation(c.project)), TrustedKeys)
        if keys is None:
            raise NotFound("trusted key not found", {"fingerprint": c.fingerprint})
        keys.remove(c.fingerprint, c.actor)
        return Outcome(position=self._save(keys))
