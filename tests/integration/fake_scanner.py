"""A scanner adapter on loopback whose answers a test chooses: a good report after a few 302s,
302 forever, 5xx, a malformed report, or a slow one. It records what it was sent."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from domain.scanning.reports import SBOM_REPORT, VULN_REPORT_1_1, VULN_REPORT_HARBOR

REPORT = {"generated_at": "2026-01-01T00:00:00Z", "scanner": {"name": "Fake", "vendor": "Tests", "version": "9.9"},
          "severity": "Critical",
          "vulnerabilities": [
              {"id": "CVE-2026-0001", "package": "openssl", "version": "1.0", "fix_version": "1.1",
               "severity": "Critical", "description": "bad", "links": ["https://example.com/1"]},
              {"id": "CVE-2026-0002", "package": "zlib", "version": "1.2", "fix_version": "",
               "severity": "Low", "description": "meh", "links": []}]}

SPDX = {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "fake",
        "packages": [{"SPDXID": "SPDXRef-Package-openssl", "name": "openssl", "versionInfo": "1.0"}]}


def sbom_report(media_type: str, document: dict) -> dict:
    return {"generated_at": "2026-01-01T00:00:00Z", "scanner": REPORT["scanner"], "media_type": media_type,
            "sbom": document}


class FakeScanner:
    def __init__(self, mode: str = "ok", pending_polls: int = 1, api_key: str = "") -> None:
        self.mode = mode
        self.pending_polls = pending_polls
        self.api_key = api_key
        self.requests: list[dict] = []
        self.polls: list[str] = []  # Accept headers of report GETs
        self.headers: list[dict] = []
        self.affected: list[dict] | None = None  # a Tidemark scanner's re-match results; None: no such route
        self.sbom_media_type = ""  # the SBOM format it answers in; "": the one asked for
        self.sbom_document = SPDX
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: object = None, media_type: str = "application/json",
                      headers: dict | None = None) -> None:
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                fake.headers.append(dict(self.headers))
                if fake.api_key and self.headers.get("X-ScannerAdapter-API-Key") != fake.api_key:
                    self._send(401, {"error": {"message": "who are you"}})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path == "/api/v1/metadata":
                    self._send(200, {"scanner": {"name": "Fake", "vendor": "Tests", "version": "9.9"},
                                     "capabilities": [{"consumes_mime_types": [], "produces_mime_types": [
                                         VULN_REPORT_1_1]}], "properties": {}})
                    return
                if self.path.startswith("/api/v1/tidemark/affected"):
                    if fake.affected is None:
                        self._send(404, {"error": {"message": "not found"}})
                        return
                    after = int(self.path.partition("after=")[2].partition("&")[0] or 0)
                    items = [i for i in fake.affected if i["sequence"] > after]
                    self._send(200, {"items": items, "last": items[-1]["sequence"] if items else after})
                    return
                accept = self.headers.get("Accept", "")
                fake.polls.append(accept)
                if fake.mode == "5xx":
                    self._send(503, {"error": {"message": "busy"}})
                elif fake.mode == "forever" or len(fake.polls) <= fake.pending_polls:
                    self._send(302, headers={"Refresh-After": "0.05"})
                elif fake.mode == "malformed":
                    self._send(200, b"{not json", VULN_REPORT_1_1)
                elif accept == SBOM_REPORT:
                    wanted = parse_qs(urlsplit(self.path).query).get("sbom_media_type", [""])[0]
                    if not wanted:
                        self._send(400, {"error": {"message": "sbom_media_type missing"}})
                    else:
                        self._send(200, sbom_report(fake.sbom_media_type or wanted, fake.sbom_document), SBOM_REPORT)
                elif fake.mode == "harbor-only" and accept != VULN_REPORT_HARBOR:
                    self._send(501, {"error": {"message": "unsupported report type"}})
                else:
                    self._send(200, REPORT, accept)

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                fake.requests.append(body)
                if fake.mode == "5xx":
                    self._send(500, {"error": {"message": "broken"}})
                    return
                self._send(202, {"id": f"req-{len(fake.requests)}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeScanner":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
