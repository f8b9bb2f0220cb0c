"""Docker registry bearer tokens: ES256 JWTs signed with a key kept in a private file.

The key lives in `<data dir>/token_signing_key.pem` (mode 0600) or where
`TIDEMARK_TOKEN_KEY_FILE` names, never in the database: the query-model database
is read by more code and backed up more widely than a key file. An older version
kept it in the `token_keys` table; it is moved to the file on first start (tokens
issued before stay valid) and dropped from the table. The key's id (public: a hash
of the public key) is recorded in the database, so a node of a scale-out registry
whose key file is missing refuses to start instead of signing with a second key.
Only processes that answer HTTP load the key. Verified tokens are cached (bounded)
until they expire.
"""

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.errors import Unauthorized
from infra.auth.key_files import (
    StartupRefused, create_private, read_private, record_id, recorded_ids, replace_private,
)
from infra.store.sql import Database

log = structlog.get_logger("tokens")

ISSUER = "tidemark-token-issuer"
ACCOUNT_CLAIM = "tidemark_account"  # the subject's user or robot id (0: anonymous, a scan)
PROJECTS_CLAIM = "tidemark_projects"  # project name -> its id when the token was issued
SERVICE = "tidemark"
ALGORITHM = "ES256"
PURPOSE = "token-signing"
LEGACY_TABLE = "token_keys"  # where versions before ADR 0014 kept the key


def _kid(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b32encode(hashlib.sha256(der).digest()[:20]).decode().rstrip("=")


def new_key_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _legacy_exists(w, dialect: str) -> bool:
    return bool(w.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ? "
                          "AND table_schema = current_schema()" if dialect == "postgres" else
                          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (LEGACY_TABLE,)))


def _legacy_pem(db: Database) -> tuple[bool, bytes | None]:
    """Whether an older version's key table is there, and the key it holds."""
    with db.write() as w:
        if not _legacy_exists(w, db.dialect):
            return False, None
        rows = w.execute(f"SELECT private_pem FROM {LEGACY_TABLE} ORDER BY created_at, kid LIMIT 1")
    return True, rows[0][0].encode() if rows else None


def _drop_legacy(db: Database) -> None:
    """Remove the old copy of the key (another process may have done it already); on SQLite
    its pages are overwritten, not only freed, and the write-ahead log is emptied."""
    with db.write() as w:
        if not _legacy_exists(w, db.dialect):
            return
        if db.dialect == "sqlite":
            w.execute("PRAGMA secure_delete = ON")
            w.execute(f"DELETE FROM {LEGACY_TABLE}")
        w.execute(f"DROP TABLE {LEGACY_TABLE}")
        if db.dialect == "sqlite":
            w.execute("PRAGMA secure_delete = OFF")
    if db.dialect == "sqlite":
        db.read("PRAGMA wal_checkpoint(TRUNCATE)")


class SigningKeyFile:
    """Where the signing key is, and the rules for making one. `shared`: other nodes use the
    same database (PostgreSQL) and may not share this node's data directory."""

    def __init__(self, path: Path, db: Database, shared: bool) -> None:
        self.path = path
        self.db = db
        self.shared = shared

    def load(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        """(kid, key): from the file; moved there from the database; or made on first start."""
        pem = read_private(self.path)
        had_table, legacy = _legacy_pem(self.db)
        if pem is None:
            pem = legacy
            if pem is None:
                self._may_make_a_key()
                pem = new_key_pem()
            if not create_private(self.path, pem):
                pem = read_private(self.path)  # another process made it first: use theirs
            else:
                log.info("token signing key written", path=str(self.path),
                         moved_from_database=legacy is not None)
        key = serialization.load_pem_private_key(pem, password=None)
        kid = _kid(key.public_key())
        self._check_recorded(kid)
        record_id(self.db, PURPOSE, kid, replace=True)
        if had_table:
            _drop_legacy(self.db)
        return kid, key

    def _may_make_a_key(self) -> None:
        recorded = recorded_ids(self.db, PURPOSE)
        if recorded and self.shared:
            raise StartupRefused(
                f"the token signing key file {self.path} is missing, but this registry's nodes "
                f"sign with key {recorded[-1]}: copy that key file here, or point "
                "TIDEMARK_TOKEN_KEY_FILE at the one they share (`tidemark keys new-token-key` "
                "replaces it on purpose)")

    def _check_recorded(self, kid: str) -> None:
        recorded = recorded_ids(self.db, PURPOSE)
        if not recorded or kid in recorded:
            return
        if self.shared:
            raise StartupRefused(
                f"the token signing key in {self.path} (id {kid}) is not the one this "
                f"registry's nodes sign with ({recorded[-1]}): give every node the same key file "
                "(`tidemark keys new-token-key` replaces it on purpose)")
        log.warning("signing tokens with a new key: tokens issued before no longer verify",
                    kid=kid, previous=recorded[-1])

    def replace(self) -> str:
        """Make a new key (tokens issued so far stop verifying); its kid."""
        pem = new_key_pem()
        replace_private(self.path, pem)
        kid = _kid(serialization.load_pem_private_key(pem, password=None).public_key())
        record_id(self.db, PURPOSE, kid, replace=True)
        return kid


class TokenService:
    """Issues and verifies tokens; the key is loaded on first use, or by `load()` at the start
    of a process that answers HTTP (so a missing or exposed key stops the start)."""

    def __init__(self, key_file: SigningKeyFile, lifetime_seconds: int = 1800,
                 cache_size: int = 10_000) -> None:
        self.key_file = key_file
        self._kid: str | None = None
        self.lifetime = lifetime_seconds  # unless the system configuration sets token_expiration
        self.configured_lifetime: Callable[[], int | None] = lambda: None
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._kid is None:
                self._kid, self._private = self.key_file.load()
                self._public = self._private.public_key()

    @property
    def kid(self) -> str:
        if self._kid is None:
            self.load()
        return self._kid

    def issue(self, subject: str, access: list[dict], lifetime: int | None = None, account: int = 0,
              projects: dict[str, int] | None = None, until: int = -1) -> dict:
        """A signed token; `lifetime` (seconds) overrides the configured one (a scan's pull token).
        `account` is the subject's user or robot id and `projects` the id of each project its
        repository entries are in (0 for none): the token holds for that account and those
        projects only, not for ones made again later under the same names. `until` (epoch
        seconds, -1: none) is when the subject's access ends (a robot's expiry, a workload ID
        token's, ADR 0045): the token expires then at the latest."""
        now = int(time.time())
        configured = self.configured_lifetime()
        if lifetime is None:
            lifetime = self.lifetime if configured is None else configured
        if until >= 0:
            lifetime = max(0, min(lifetime, until - now))
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "iat": now, "nbf": now - 5,
                  "exp": now + lifetime, "jti": secrets.token_hex(16), "access": access,
                  ACCOUNT_CLAIM: account, PROJECTS_CLAIM: projects or {}}
        kid = self.kid  # loads the key on first use
        token = jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": kid})
        issued = datetime.fromtimestamp(now, timezone.utc).isoformat().replace("+00:00", "Z")
        return {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": issued}

    def cached(self, token: str) -> dict | None:
        """Claims of a token verified before and not yet expired (no signature work)."""
        claims = self._cache.get(token)
        return claims if claims is not None and claims["exp"] > time.time() else None

    def verify(self, token: str) -> dict:
        """The token's claims if its signature, issuer, audience and times hold."""
        cached = self.cached(token)
        if cached is not None:
            return cached
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or header.get("kid") != self.kid:
                raise jwt.InvalidTokenError("unexpected algorithm or key")
            claims = jwt.decode(token, self._public, algorithms=[ALGORITHM], audience=SERVICE,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError:
            raise Unauthorized("authentication required: the token is invalid or expired")
        with self._lock:
            self._cache[token] = claims
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return claims


def token_allows(claims: dict, kind: str, name: str, action: str) -> bool:
    for entry in claims.get("access") or []:
        if entry.get("type") == kind and entry.get("name") == name and \
                (action in entry.get("actions", []) or "*" in entry.get("actions", [])):
            return True
    return False


def token_bound_to(claims: dict, project: str, project_id: int) -> bool:
    """Whether the token was issued while `project` was the incarnation with `project_id`."""
    bound = claims.get(PROJECTS_CLAIM)
    return isinstance(bound, dict) and bound.get(project) == project_id
