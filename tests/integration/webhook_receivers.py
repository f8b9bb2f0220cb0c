"""Real HTTP receivers on loopback for webhook tests: they record what they get, and can fail
their first requests, answer slowly, or be down (a port where nothing listens)."""

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Received:
    def __init__(self, headers: dict[str, str], body: bytes, at: float) -> None:
        self.headers = headers
        self.body = body
        self.at = at

    def json(self):
        return json.loads(self.body)


class Receiver:
    """A threaded http.server: `fail_first` requests get `fail_status`, every answer waits
    `delay` seconds first, and, with `hold`, until `release()` (at most 60 s). `url` is where
    to send."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503, delay: float = 0.0,
                 port: int = 0, tls_dir=None, hold: bool = False) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.delay = delay
        self._released = threading.Event()
        if not hold:
            self._released.set()
        self.received: list[Received] = []
        self.answered = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver._released.wait(60)
                with receiver._lock:
                    receiver.received.append(Received(dict(self.headers), body, time.time()))
                    failing = len(receiver.received) <= receiver.fail_first
                status = receiver.fail_status if failing else 200
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the sender gave up waiting (a timeout test)
                receiver.answered += 1

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls_dir is not None:  # HTTPS with a self-signed certificate no client trusts
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self_signed_certificate(tls_dir))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()  # a held request does not keep the server from stopping
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        """Let held requests be answered (and every later one at once)."""
        self._released.set()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received) >= count:
                return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 signed by its own key; returns (cert path, key path)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = f"{directory}/receiver.crt", f"{directory}/receiver.key"
    with open(cert_path, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_path, key_path


def down_url() -> str:
    """An address on loopback where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def wait_until(check, timeout: float = 15.0, interval: float = 0.05):
    """Poll `check()` until it returns something truthy; return it."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)
