"""Docker registry bearer tokens: ES256 JWTs signed with a key kept in the database.

The key pair is made on first start and stored in the query-model database,
so every process of a scale-out deployment signs and verifies with the same
key. Verified tokens are cached (bounded) until they expire.
"""

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.errors import Unauthorized
from infra.sql import Database

ISSUER = "tidemark-token-issuer"
SERVICE = "tidemark"
ALGORITHM = "ES256"

TABLE = """CREATE TABLE IF NOT EXISTS token_keys (
    kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at TEXT NOT NULL)"""


def _kid(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b32encode(hashlib.sha256(der).digest()[:20]).decode().rstrip("=")


def load_signing_key(db: Database):
    """The registry's signing key, made and stored on first use."""
    with db.write() as w:
        w.execute(TABLE)
        rows = w.execute("SELECT kid, private_pem FROM token_keys ORDER BY created_at, kid LIMIT 1")
        if not rows:
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            w.execute("INSERT INTO token_keys VALUES (?, ?, ?)",
                      (_kid(key.public_key()), pem, datetime.now(timezone.utc).isoformat()))
            rows = w.execute("SELECT kid, private_pem FROM token_keys ORDER BY created_at, kid LIMIT 1")
    kid, pem = rows[0]
    return kid, serialization.load_pem_private_key(pem.encode(), password=None)


class TokenService:
    def __init__(self, db: Database, lifetime_seconds: int = 1800, cache_size: int = 10_000) -> None:
        self.kid, self._private = load_signing_key(db)
        self._public = self._private.public_key()
        self.lifetime = lifetime_seconds
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def issue(self, subject: str, access: list[dict]) -> dict:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "iat": now, "nbf": now - 5,
                  "exp": now + self.lifetime, "jti": secrets.token_hex(16), "access": access}
        token = jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})
        issued = datetime.fromtimestamp(now, timezone.utc).isoformat().replace("+00:00", "Z")
        return {"token": token, "access_token": token, "expires_in": self.lifetime, "issued_at": issued}

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
