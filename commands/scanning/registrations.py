"""Commands on scanner registrations (domain/scanning/registration.py).

The access credential is sealed here, before the event is made: events and answers hold it
sealed only; the scan worker opens it to call the adapter.
"""

import uuid as uuids

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.scanning.registration import REGISTRATIONS_ID, ScannerRegistrations, ScannerSpec

CREDENTIAL = "scanner access credential"  # the purpose sealed credentials are bound to


class RegisterScanner(msgspec.Struct, frozen=True):
    spec: ScannerSpec
    actor: Actor
    uuid: str = ""  # a new one when empty
    make_default: bool = False


class ChangeScanner(msgspec.Struct, frozen=True):
    uuid: str
    spec: ScannerSpec
    actor: Actor


class RemoveScanner(msgspec.Struct, frozen=True):
    uuid: str
    actor: Actor


class ChooseDefaultScanner(msgspec.Struct, frozen=True):
    uuid: str
    actor: Actor


class ChooseProjectScanner(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    uuid: str
    actor: Actor


class ScannerCommands:
    def __init__(self, app: RegistryApplication, secrets) -> None:
        self.app = app
        self.secrets = secrets

    def current(self) -> ScannerRegistrations:
        """The registrations as they are now (an empty list before the first)."""
        found = self.app.find(REGISTRATIONS_ID, ScannerRegistrations)
        return found if found is not None else ScannerRegistrations.start()

    def credential(self, item: dict) -> str:
        """A registration's credential in clear, for the request to its adapter only."""
        sealed = item.get("access_credential", "")
        return self.secrets.open(sealed, CREDENTIAL) if sealed else ""

    def _sealed(self, spec: ScannerSpec) -> ScannerSpec:
        if not spec.access_credential:
            return spec
        return msgspec.structs.replace(spec, access_credential=self.secrets.seal(spec.access_credential,
                                                                                 CREDENTIAL))

    def _save(self, registrations: ScannerRegistrations, size: int = 0) -> Outcome:
        recordings = self.app.save(registrations)
        return Outcome(position=recordings[-1].notification.id if recordings else None, size=size)

    @retried
    def register(self, c: RegisterScanner) -> tuple[str, Outcome]:
        registrations = self.current()
        uuid = c.uuid or str(uuids.uuid4())
        registrations.register(uuid, self._sealed(c.spec), c.actor, c.make_default)
        return uuid, self._save(registrations)

    @retried
    def change(self, c: ChangeScanner) -> Outcome:
        registrations = self.current()
        registrations.change(c.uuid, self._sealed(c.spec), c.actor)
        return self._save(registrations)

    @retried
    def remove(self, c: RemoveScanner) -> tuple[dict, Outcome]:
        registrations = self.current()
        item = registrations.remove(c.uuid, c.actor)
        return item, self._save(registrations)

    @retried
    def choose_default(self, c: ChooseDefaultScanner) -> Outcome:
        registrations = self.current()
        registrations.choose_default(c.uuid, c.actor)
        return self._save(registrations)

    @retried
    def choose_for_project(self, c: ChooseProjectScanner) -> Outcome:
        registrations = self.current()
        registrations.choose_for_project(c.project, c.project_id, c.uuid, c.actor)
        return self._save(registrations)
