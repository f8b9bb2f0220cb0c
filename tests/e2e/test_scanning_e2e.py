"""Scanning end to end: `tidemark serve` starts its built-in scanner and registers it; an OSV
file is imported with `tidemark vulndb import`; skopeo pushes an image whose layer carries a
dpkg status file into a project with auto_scan and auto_sbom_generation; the artifact's
scan_overview shows the report, its SPDX SBOM is an accessory skopeo can read."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import processes
from tests.integration.servers import free_port
from tests.scanner_images import compress, dpkg_status, os_release, sha256, tar_of

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("admin", "Scan-E2e-Passw0rd")
VULN = "application/vnd.security.vulnerability.report; version=1.1"


def osv(record_id, name, fixed, **extra):
    return {"schema_version": "1.6.0", "id": record_id, "modified": "2024-05-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
            **extra}


RECORDS = [
    osv("DEBIAN-CVE-2024-0727", "openssl", "3.0.13-1~deb12u1", upstream=["CVE-2024-0727"]),
    osv("DEBIAN-CVE-2022-3715", "bash", "5.2.15-3", upstream=["CVE-2022-3715"],
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]),
    osv("DEBIAN-CVE-2099-0001", "zlib", "1:1.2.13.dfsg-1"),  # fixed in the version installed: no finding
]


def oci_layout(root: Path) -> None:
    """An OCI layout holding one linux/amd64 image (tag v1) with a Debian 12 dpkg database."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def put(data: bytes, media_type: str) -> dict:
        (blobs / sha256(data).split(":", 1)[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    tar = tar_of([("file", "etc/os-release", os_release("debian", "12")),
                  ("file", "var/lib/dpkg/status", dpkg_status([
                      ("bash", "5.2.15-2+b2"), ("libssl3", "3.0.11-1~deb12u2", "openssl"),
                      ("openssl", "3.0.11-1~deb12u2"), ("zlib1g", "1:1.2.13.dfsg-1", "zlib")]))])
    layer = put(compress(tar), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = put(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [sha256(tar)]}}).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": [layer]}).encode(),
                   "application/vnd.oci.image.manifest.v1+json")
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {**manifest, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}))


def wait_for(check, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    lines = [line for line in log.read_text().splitlines() if '"event": "request"' not in line]
    raise AssertionError(f"{what} did not happen in {seconds} s:\n" + "\n".join(lines)[-3000:])


@pytest.fixture
def server(tmp_path):
    data = tmp_path / "data"
    (tmp_path / "osv.json").write_text(json.dumps(RECORDS))
    imported = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "vulndb", "import",
                               str(tmp_path / "osv.json"), "--data-dir", str(data)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("TIDEMARK_")}
    with log.open("wb") as out:
        process = processes.spawn(
            [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**env, "TIDEMARK_ADMIN_PASSWORD": ADMIN[1], "TIDEMARK_BUILTIN_SCANNER": "auto"})
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url + "/api/v2.0", auth=ADMIN, timeout=30)

    def scanner_ready():
        try:
            listed = api.get("/scanners").json()
        except (httpx.HTTPError, ValueError):
            return None
        if not listed:
            return None
        return listed if api.get(f"/scanners/{listed[0]['uuid']}/metadata").status_code == 200 else None

    listed = wait_for(scanner_ready, 90, "the built-in scanner's start", log)
    yield {"url": url, "api": api, "port": port, "log": log, "scanners": listed, "tmp": tmp_path}
    api.close()
    processes.stop(process)


def test_a_pushed_image_is_scanned_by_the_built_in_scanner_and_shows_its_overview(server, tmp_path):
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is not installed (make test-deps installs it)")
    api, log = server["api"], server["log"]
    assert [(s["name"], s["is_default"], s["auth"], s["access_credential"]) for s in server["scanners"]] == [
        ("Tidemark", True, "Bearer", "******")]
    assert api.post("/projects", json={"project_name": "scans", "metadata": {
        "auto_scan": "true", "auto_sbom_generation": "true"}}).status_code == 201
    oci_layout(tmp_path / "layout")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    pushed = subprocess.run(["skopeo", "--policy", str(policy), "copy", "--dest-tls-verify=false",
                             "--dest-creds", ":".join(ADMIN), f"oci:{tmp_path / 'layout'}:v1",
                             f"docker://127.0.0.1:{server['port']}/scans/app:v1"],
                            capture_output=True, text=True, timeout=120)
    assert pushed.returncode == 0, pushed.stderr

    def overview():
        body = api.get("/projects/scans/repositories/app/artifacts/v1", params={"with_scan_overview": "true"}).json()
        found = (body.get("scan_overview") or {}).get(VULN)
        return found if found and found["scan_status"] not in ("Pending", "Running") else None

    found = wait_for(overview, 90, "the scan", log)
    assert found["scan_status"] == "Success", found
    assert found["severity"] == "High"
    assert found["summary"] == {"total": 3, "fixable": 3, "summary": {"High": 1, "Unknown": 2}}
    assert found["scanner"]["name"] == "Tidemark" and found["complete_percent"] == 100
    report_log = api.get(f"/projects/scans/repositories/app/artifacts/v1/scan/{found['report_id']}/log")
    assert report_log.status_code == 200 and "3 vulnerabilities" in report_log.text

    # the SBOM made on push: an SPDX document of the image's packages, an accessory skopeo can read
    def sbom_overview():
        body = api.get("/projects/scans/repositories/app/artifacts/v1", params={"with_sbom_overview": "true"}).json()
        found = body.get("sbom_overview")
        return found if found and found["scan_status"] not in ("Pending", "Running") else None

    sbom = wait_for(sbom_overview, 90, "the SBOM", log)
    assert sbom["scan_status"] == "Success" and sbom["sbom_digest"].startswith("sha256:"), sbom
    document = api.get("/projects/scans/repositories/app/artifacts/v1/additions/sbom").json()
    assert document["spdxVersion"] == "SPDX-2.3"
    assert {(p["name"], p["versionInfo"]) for p in document["packages"]} >= {
        ("bash", "5.2.15-2+b2"), ("openssl", "3.0.11-1~deb12u2"), ("zlib1g", "1:1.2.13.dfsg-1")}
    raw = subprocess.run(["skopeo", "--policy", str(policy), "inspect", "--raw", "--tls-verify=false",
                          "--creds", ":".join(ADMIN),
                          f"docker://127.0.0.1:{server['port']}/scans/app@{sbom['sbom_digest']}"],
                         capture_output=True, text=True, timeout=60)
    assert raw.returncode == 0, raw.stderr
    accessory = json.loads(raw.stdout)
    assert accessory["artifactType"] == "application/vnd.goharbor.harbor.sbom.v1"
    assert accessory["layers"][0]["mediaType"] == "application/spdx+json"

    # prevent_vul: the High finding (bash, CVE-2022-3715) blocks a pull by skopeo, with Harbor's words
    assert api.put("/projects/scans", json={"metadata": {"prevent_vul": "true", "severity": "high"}}).status_code == 200

    def pull():
        return subprocess.run(["skopeo", "--policy", str(policy), "inspect", "--raw", "--tls-verify=false",
                               "--creds", ":".join(ADMIN), f"docker://127.0.0.1:{server['port']}/scans/app:v1"],
                              capture_output=True, text=True, timeout=60)

    refused = pull()
    assert refused.returncode != 0 and "cannot be pulled due to configured policy" in refused.stderr, refused.stderr
    report = api.get("/projects/scans/repositories/app/artifacts/v1/additions/vulnerabilities").json()[VULN]
    assert {(v["id"], v["package"]) for v in report["vulnerabilities"]} == {
        ("CVE-2022-3715", "bash"), ("CVE-2024-0727", "libssl3"), ("CVE-2024-0727", "openssl")}
    decision = api.get("/projects/scans/repositories/app/artifacts/v1/pull-decision").json()
    assert any(d["gate"] == "vulnerability" and not d["allowed"] for d in decision["decisions"]), decision

    # the CVE allowlisted in the project: the same pull goes through
    allowed = api.put("/projects/scans", json={"cve_allowlist": {"items": [{"cve_id": "CVE-2022-3715"}]}})
    assert allowed.status_code == 200, allowed.text
    assert pull().returncode == 0
    summary = api.get("/security/summary").json()
    assert summary["high_cnt"] == 1 and summary["unknown_cnt"] == 2 and summary["scanned_cnt"] == 1

    # a later database import: the scanner re-matches the stored inventory, the registry records a
    # report with the new finding (no rescan), and "which images has CVE-2023-45853, since when" answers
    later = osv("DEBIAN-CVE-2023-45853", "zlib", "1:1.3.dfsg-1", upstream=["CVE-2023-45853"],
                severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    (tmp_path / "later.json").write_text(json.dumps([later]))
    imported = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "vulndb", "import", str(tmp_path / "later.json"),
                               "--data-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert "1 newly affected (1 new findings)" in imported.stdout, imported.stdout

    def rematched():
        body = api.get("/projects/scans/repositories/app/artifacts/v1/additions/vulnerabilities").json()
        ids = {v["id"] for v in body.get(VULN, {}).get("vulnerabilities", [])}
        return body[VULN] if "CVE-2023-45853" in ids else None

    report = wait_for(rematched, 60, "the re-match report", log)
    assert report["report_id"] != found["report_id"]
    assert len(report["vulnerabilities"]) == 4
    hit = api.get("/security/vul/CVE-2023-45853/artifacts")
    assert hit.status_code == 200, hit.text
    assert "scans/app" in hit.text
    again = pull()  # a Critical finding the allowlist does not name: refused again
    assert again.returncode != 0 and "cannot be pulled due to configured policy" in again.stderr, again.stderr
