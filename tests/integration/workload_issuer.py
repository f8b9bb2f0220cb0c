"""A tiny OIDC workload-token issuer for the keyless CI robot tests (ADR 0045), over real HTTP
on a loopback port: it serves `/.well-known/openid-configuration` and its JWKS as GitHub
Actions' issuer does (no authorization or token endpoint), and the test mints ID tokens with
its private key, with whatever claims, times, key or algorithm a case needs: expired tokens,
tokens signed by a key it does not publish, `alg: none`, HS256 with the public key as the
secret. (oidc-provider-mock, the real provider of the sign-in tests, issues only fresh tokens
signed by its own key; the tests use it too, for the tokens a real provider gives.)"""

import json
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class WorkloadIssuer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.key = new_key()
        self.kid = "key-1"
        self.fetches = {"discovery": 0, "jwks": 0}
        self.padding = 0  # bytes of junk in the JWKS answer (an issuer answering too much)

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        keys = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        return {**keys, "junk": "x" * self.padding} if self.padding else keys

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": self.url, "aud": "tidemark", "sub": "repo:org/app:ref:refs/heads/main",
                  "repository_owner": "org", "ref": "refs/heads/main", "iat": now, "nbf": now - 5,
                  "exp": now + 300, "jti": uuid.uuid4().hex}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, key=None, kid: str | None = None, algorithm: str = "RS256", headers: dict | None = None,
             **claims) -> str:
        """An ID token with the default workload claims changed by `claims` (None drops one)."""
        return jwt.encode(self.claims(**claims), key or self.key, algorithm=algorithm,
                          headers={"kid": kid or self.kid, **(headers or {})})

    def unsigned(self, **claims) -> str:
        """`alg: none`: the header says so and the signature is empty."""
        import base64

        def part(value: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
        return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': self.kid})}.{part(self.claims(**claims))}."


@contextmanager
def workload_issuer():
    """A running issuer at http://127.0.0.1:<port>."""
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            issuer = holder["issuer"]
            if self.path == "/.well-known/openid-configuration":
                issuer.fetches["discovery"] += 1
                body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks",
                        "subject_types_supported": ["public"], "response_types_supported": ["id_token"],
                        "id_token_signing_alg_values_supported": ["RS256"]}
            elif self.path == "/jwks":
                issuer.fetches["jwks"] += 1
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["issuer"] = WorkloadIssuer(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["issuer"]
    finally:
        server.shutdown()
        server.server_close()
