"""Sealing secrets that events must carry (webhook auth headers today; registry credentials
and OIDC client secrets later), with keys kept outside the log.

A sealed value is `sealed:v1:<key id>:<base64url(nonce | AES-256-GCM ciphertext)>`; the
key id and what the value is for (its purpose) are authenticated with it, so a value
cannot be moved to another use or decrypted under another key. The command side seals
before the event is made; events and query models hold only sealed values; the one
place that uses a secret (the webhook sender) opens it. An exported or shipped log is
useless without the key file.

The key file (`<data dir>/secrets.key` or `TIDEMARK_SECRETS_KEY_FILE`, mode 0600) holds
one `<key id> <base64 key>` per line: the last line seals new values, every line opens
old ones. Rotation (docs/adr/0014): add a key, reseal current secrets as new events,
retire the old key.
"""

import base64
import hashlib
import os
import threading
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.auth.key_files import (
    StartupRefused, create_private, read_private, record_id, recorded_ids, replace_private,
)
from infra.store.sql import Database

log = structlog.get_logger("secrets")

PREFIX = "sealed:v1:"
PURPOSE = "secrets"  # in the key ledger
REDACTED = "******"  # what an export shows instead of a clear value of an older version
SECRET_FIELDS = frozenset({"auth_header", "access_credential", "access_secret"})  # event fields (at any depth) that hold secrets
HEADER = "# Tidemark secrets keys: '<key id> <base64 key>' per line; the last one seals new values\n"


class SecretUnavailable(Exception):
    """A sealed value cannot be opened: its key is not in the key file, or it was altered."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def key_id_of(value: str) -> str | None:
    """The id of the key that sealed `value`; None for a clear value (an older version's)."""
    return value[len(PREFIX):].split(":", 1)[0] if is_sealed(value) else None


def _kid(key: bytes) -> str:
    return hashlib.sha256(b"tidemark-secrets-key:" + key).hexdigest()[:12]


def new_key_line() -> str:
    key = AESGCM.generate_key(bit_length=256)
    return f"{_kid(key)} {base64.b64encode(key).decode()}\n"


class Keyring:
    """Keys by id; the newest seals."""

    def __init__(self, keys: dict[str, bytes], path: Path | None = None) -> None:
        if not keys:
            raise StartupRefused(f"the secrets key file {path} holds no key")
        self.keys = keys
        self.current = list(keys)[-1]
        self.path = path

    @classmethod
    def parse(cls, text: str, path: Path | None = None) -> "Keyring":
        keys = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                kid, encoded = line.split()
                key = base64.b64decode(encoded, validate=True)
                AESGCM(key)
            except ValueError:
                raise StartupRefused(f"the secrets key file {path}, line {number}: expected "
                                     "'<key id> <base64 key of 32 bytes>'") from None
            keys[kid] = key
        return cls(keys, path)

    @classmethod
    def generate(cls) -> "Keyring":
        """A keyring of one new key, in memory (tests, and the first start)."""
        return cls.parse(new_key_line())

    def seal(self, clear: str, purpose: str) -> str:
        nonce = os.urandom(12)
        aad = f"{self.current}:{purpose}".encode()
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, clear.encode(), aad)
        return f"{PREFIX}{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, purpose: str) -> str:
        """The clear value; a value that was never sealed (stored by an older version) is
        returned as it is."""
        kid = key_id_of(value)
        if kid is None:
            return value
        key = self.keys.get(kid)
        if key is None:
            raise SecretUnavailable(
                f"the {purpose} is sealed with key {kid}, which is not in {self.path}: restore "
                "that key (or set the secret again)")
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) + len(kid) + 1:])
            return AESGCM(key).decrypt(raw[:12], raw[12:], f"{kid}:{purpose}".encode()).decode()
        except Exception:  # InvalidTag, bad base64, bad UTF-8: nothing usable either way
            raise SecretUnavailable(f"the {purpose} sealed with key {kid} does not open: it "
                                    "was altered") from None


class Secrets:
    """The registry's keyring, loaded on first use (or by `load()` at start), and the key
    ledger: a key id is recorded the first time it seals, so a process that later finds
    the key file missing refuses to start rather than make a key that opens nothing.
    Only a process that seals (`creates`: the API) makes the file on a fresh start; one
    that only opens (the webhook sender) waits for it, so it never makes a second key."""

    def __init__(self, path: Path, db: Database, creates: bool = True) -> None:
        self.path = path
        self.db = db
        self.creates = creates
        self._keyring: Keyring | None = None
        self._recorded: set[str] = set()
        self._lock = threading.Lock()

    def load(self) -> Keyring | None:
        """The keyring; None only where this process may not make the file and it is not
        there yet (nothing was sealed: the ledger is empty)."""
        with self._lock:
            if self._keyring is None:
                self._keyring = self._read_or_make()
            return self._keyring

    def _read_or_make(self) -> Keyring | None:
        data = read_private(self.path)
        if data is None:
            used = recorded_ids(self.db, PURPOSE)
            if used:
                raise StartupRefused(
                    f"the secrets key file {self.path} is missing, but secrets in the event log "
                    f"are sealed with key {', '.join(used)}: restore the file, or point "
                    "TIDEMARK_SECRETS_KEY_FILE at it (`tidemark keys add-secrets-key` starts a "
                    "new file; secrets sealed before must then be set again)")
            if not self.creates:
                return None
            # Linked into place: if another process made it first, theirs is read below.
            create_private(self.path, (HEADER + new_key_line()).encode())
            data = read_private(self.path)
        keyring = Keyring.parse(data.decode(), self.path)
        lost = [kid for kid in recorded_ids(self.db, PURPOSE) if kid not in keyring.keys]
        if lost:
            log.error("secrets sealed with these keys cannot be opened: the key file lacks them",
                      keys=lost, path=str(self.path))
        return keyring

    def keyring(self) -> Keyring:
        keyring = self.load()
        if keyring is None:
            raise SecretUnavailable(f"the secrets key file {self.path} is missing")
        return keyring

    def seal(self, clear: str, purpose: str) -> str:
        keyring = self.keyring()
        if keyring.current not in self._recorded:
            record_id(self.db, PURPOSE, keyring.current)
            self._recorded.add(keyring.current)
        return keyring.seal(clear, purpose)

    def open(self, value: str, purpose: str) -> str:
        """The clear value. A key id this process does not know makes it read the key file
        again once: a key added to a shared file while it runs opens without a restart."""
        if not is_sealed(value):
            return value
        keyring = self.keyring()
        if key_id_of(value) in keyring.keys:
            return keyring.open(value, purpose)
        with self._lock:
            self._keyring = None
        try:
            keyring = self.keyring()
        except StartupRefused as error:  # the file went away meanwhile
            raise SecretUnavailable(str(error)) from None
        return keyring.open(value, purpose)

    def add_key(self) -> str:
        """Append a new key to the file (it seals from the next start on); its id."""
        current = read_private(self.path)
        text = current.decode() if current is not None else HEADER
        line = new_key_line()
        replace_private(self.path, (text if text.endswith("\n") else text + "\n").encode()
                        + line.encode())
        return line.split()[0]

    def remove_key(self, kid: str) -> None:
        """Drop a key from the file (after nothing current is sealed with it)."""
        current = read_private(self.path)
        lines = (current or b"").decode().splitlines(keepends=True)
        kept = [line for line in lines if line.split()[:1] != [kid]]
        Keyring.parse("".join(kept), self.path)  # never leave a file without a key
        replace_private(self.path, "".join(kept).encode())


def redact_clear(value):
    """`value` with every clear (never sealed) secret field at any depth replaced by a
    marker; sealed values stay as they are (useless without the key file)."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_FIELDS and isinstance(v, str) and v and not is_sealed(v)
                    else redact_clear(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_clear(item) for item in value]
    return value
