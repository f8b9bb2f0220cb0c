"""The built-in scanner end to end: a real Tidemark holds an image whose layers carry a dpkg
status file, dist-info directories and package.json files; `tidemark vulndb import` loads OSV
records written here; `tidemark scanner serve` scans the image with a pull token and answers
as Harbor's scanner adapter API says."""

import json
import zipfile
from datetime import datetime, timezone

import pytest

from domain.scanning.reports import SBOM_REPORT, VULN_REPORT_1_1, VULN_REPORT_HARBOR
from tests.integration.scanner_world import GatedRegistry, Registry, Scanner, scan_request
from tests.scanner_images import (
    compress, dist_info, dpkg_status, os_release, package_json, push_image, push_index, tar_of,
)

REPO = "scans/app"
SITE = "usr/local/lib/python3.11/site-packages"
PROPERTY = "harbor.scanner-adapter/vulnerability-database-updated-at"


def osv(record_id, ecosystem, name, events, **extra):
    return {"schema_version": "1.6.0", "id": record_id, "modified": "2024-05-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}], **extra}


RECORDS_DEBIAN = [
    osv("DEBIAN-CVE-2024-0727", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}],
        upstream=["CVE-2024-0727"], details="Processing a maliciously formatted PKCS12 file may crash OpenSSL."),
    osv("DEBIAN-CVE-2023-9999", "Debian:11", "bash", [{"introduced": "0"}, {"fixed": "9.9"}]),
]
RECORD_REQUESTS = osv(
    "GHSA-x84v-xcm2-53pg", "PyPI", "Requests", [{"introduced": "0"}, {"fixed": "2.20.0"}],
    aliases=["CVE-2018-18074", "PYSEC-2018-28"], summary="Insufficiently Protected Credentials in Requests",
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
    database_specific={"severity": "HIGH", "cwe_ids": ["CWE-522"]},
    references=[{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2018-18074"}])
RECORD_LODASH = osv(
    "GHSA-35jh-r3h4-6jhm", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}],
    aliases=["CVE-2021-23337"], summary="Command Injection in lodash",
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}])
RECORD_WITHDRAWN = osv("GHSA-vh95-rmgr-6w4m", "npm", "minimist", [{"introduced": "0"}, {"fixed": "1.2.6"}],
                       withdrawn="2024-06-01T00:00:00Z", aliases=["CVE-2020-7598"])
RECORD_URLLIB3 = osv("GHSA-g4mx-q9vg-27p4", "PyPI", "urllib3", [{"introduced": "2.0.0"}, {"fixed": "2.0.7"}],
                     aliases=["CVE-2023-45803"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("scanner-world")
    registry = Registry(workdir)
    registry.create_project("scans")
    base = [("symlink", "etc/os-release", "../usr/lib/os-release"),
            ("file", "usr/lib/os-release", os_release("debian", "12")),
            ("file", "var/lib/dpkg/status", dpkg_status([
                ("bash", "5.2.15-2+b2"), ("libssl3", "3.0.11-1~deb12u2", "openssl"),
                ("openssl", "3.0.11-1~deb12u2"), ("zlib1g", "1:1.2.13.dfsg-1", "zlib")]))]
    python = [dist_info(SITE, "requests", "2.19.0"), dist_info(SITE, "urllib3", "2.0.7"),
              dist_info(SITE, "removed", "1.0")]
    node = [package_json("srv/app", "lodash", "4.17.20"), package_json("srv/app", "minimist", "1.2.5"),
            ("whiteout", f"{SITE}/removed-1.0.dist-info")]
    layers = [compress(tar_of(base)), compress(tar_of(python), "zstd"), compress(tar_of(node))]
    token = registry.pull_token(REPO)
    digest = push_image(registry.url, REPO, "v1", layers, _admin())
    feeds = workdir / "feeds"
    (feeds / "pypi").mkdir(parents=True)
    (feeds / "debian.json").write_text(json.dumps(RECORDS_DEBIAN))
    (feeds / "pypi" / "GHSA-x84v-xcm2-53pg.json").write_text(json.dumps(RECORD_REQUESTS))
    (feeds / "pypi" / "GHSA-g4mx-q9vg-27p4.json").write_text(json.dumps(RECORD_URLLIB3))
    with zipfile.ZipFile(workdir / "npm.zip", "w") as dump:
        for record in (RECORD_LODASH, RECORD_WITHDRAWN):
            dump.writestr(f"{record['id']}.json", json.dumps(record))
    scanner = Scanner(workdir / "scanner-data")
    yield {"registry": registry, "scanner": scanner, "digest": digest, "token": token, "workdir": workdir,
           "feeds": feeds, "imported": False}
    scanner.stop()
    registry.stop()


def _admin():
    import base64

    from tests.integration.scanner_world import ADMIN

    return {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}


def _import(world):
    before = datetime.now(timezone.utc)
    done = world["scanner"].vulndb("import", str(world["feeds"]), str(world["workdir"] / "npm.zip"))
    assert done.returncode == 0, done.stderr
    world["imported"] = True
    return before, done


def test_metadata_names_the_scanner_and_shows_when_the_database_was_imported(world):
    scanner = world["scanner"]
    answer = scanner.http.get("/api/v1/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.scanner.adapter.metadata+json; version=1.1"
    body = answer.json()
    assert body["scanner"]["name"] == "Tidemark"
    assert PROPERTY not in body["properties"]  # never imported
    kinds = {c["type"]: c for c in body["capabilities"]}
    assert set(kinds["vulnerability"]["produces_mime_types"]) == {VULN_REPORT_1_1, VULN_REPORT_HARBOR}
    assert kinds["sbom"]["produces_mime_types"] == [SBOM_REPORT]
    assert kinds["sbom"]["additional_attributes"]["sbom_media_types"] == ["application/spdx+json",
                                                                          "application/vnd.cyclonedx+json"]
    assert "application/vnd.docker.distribution.manifest.v2+json" in kinds["vulnerability"]["consumes_mime_types"]
    assert body["properties"]["harbor.scanner-adapter/scanner-type"] == "os-package-vulnerability"

    before, done = _import(world)
    assert "imported 6 records (6 new, 0 replaced" in done.stdout
    updated = scanner.http.get("/api/v1/metadata").json()["properties"][PROPERTY]
    moment = datetime.fromisoformat(updated)
    assert moment.tzinfo is not None and before <= moment <= datetime.now(timezone.utc)


@pytest.fixture
def imported(world):
    if not world["imported"]:
        _import(world)
    return world


def test_a_scan_reports_the_vulnerabilities_a_user_looks_for(imported):
    scanner, registry = imported["scanner"], imported["registry"]
    gated = GatedRegistry(registry.url)
    try:
        accepted = scanner.scan(scan_request(gated.url, REPO, imported["digest"], f"Bearer {imported['token']}"))
        assert accepted.status_code == 202, accepted.text
        assert accepted.headers["content-type"] == "application/vnd.scanner.adapter.scan.response+json; version=1.0"
        scan_id = accepted.json()["id"]
        running = scanner.report(scan_id, VULN_REPORT_1_1, until_done=False)
        assert running.status_code == 302
        assert int(running.headers["refresh-after"]) >= 1
        gated.open()
        done = scanner.report(scan_id, VULN_REPORT_1_1)
    finally:
        gated.close()
    assert done.status_code == 200, done.text
    assert done.headers["content-type"] == VULN_REPORT_1_1
    report = done.json()
    assert report["artifact"]["repository"] == REPO and report["artifact"]["digest"] == imported["digest"]
    assert report["scanner"]["name"] == "Tidemark"
    assert report["severity"] == "High"
    seen = [(v["id"], v["package"], v["version"], v["fix_version"], v["severity"]) for v in report["vulnerabilities"]]
    assert seen == [
        ("CVE-2018-18074", "requests", "2.19.0", "2.20.0", "High"),
        ("CVE-2021-23337", "lodash", "4.17.20", "4.17.21", "High"),
        ("CVE-2024-0727", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "Unknown"),
        ("CVE-2024-0727", "openssl", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "Unknown"),
    ]
    requests = report["vulnerabilities"][0]
    assert requests["preferred_cvss"] == {"score_v3": 7.5, "vector_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}
    assert requests["cwe_ids"] == ["CWE-522"]
    assert requests["vendor_attributes"]["osv_ids"] == ["GHSA-x84v-xcm2-53pg"]
    assert "https://osv.dev/vulnerability/GHSA-x84v-xcm2-53pg" in requests["links"]
    assert requests["description"] == "Insufficiently Protected Credentials in Requests"
    assert report["vulnerabilities"][2]["vendor_attributes"]["source_package"] == "openssl"

    harbor = scanner.report(scan_id, VULN_REPORT_HARBOR)
    assert harbor.status_code == 200
    assert harbor.headers["content-type"] == VULN_REPORT_HARBOR
    assert harbor.json()["vulnerabilities"] == report["vulnerabilities"]


def test_both_sbom_formats_list_every_package_with_its_purl(imported):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.json import json_parser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    scanner = imported["scanner"]
    body = scan_request(imported["registry"].url, REPO, imported["digest"], f"Bearer {imported['token']}",
                        capabilities=[{"type": "sbom", "produces_mime_types": [SBOM_REPORT],
                                       "parameters": {"sbom_media_types": ["application/spdx+json"]}}])
    scan_id = scanner.scan(body).json()["id"]
    assert scanner.report(scan_id, SBOM_REPORT).status_code == 400  # no sbom_media_type
    spdx = scanner.report(scan_id, SBOM_REPORT, sbom_media_type="application/spdx+json")
    assert spdx.status_code == 200, spdx.text
    assert spdx.headers["content-type"] == SBOM_REPORT
    assert spdx.json()["media_type"] == "application/spdx+json"
    document = spdx.json()["sbom"]
    path = imported["workdir"] / "image.spdx.json"
    path.write_text(json.dumps(document))
    assert validate_full_spdx_document(json_parser.parse_from_file(str(path))) == []
    purls = {ref["referenceLocator"] for p in document["packages"] for ref in p.get("externalRefs", [])}
    assert {"pkg:pypi/requests@2.19.0", "pkg:npm/lodash@4.17.20", "pkg:npm/minimist@1.2.5",
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"} <= purls
    assert not any("removed" in p for p in purls)  # its dist-info was whited out

    cdx = scanner.report(scan_id, SBOM_REPORT, sbom_media_type="application/vnd.cyclonedx+json")
    assert cdx.status_code == 200
    bom = cdx.json()["sbom"]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    assert bom["metadata"]["component"]["version"] == imported["digest"]
    assert {c["purl"] for c in bom["components"]} == {p for p in purls if not p.startswith("pkg:oci/")}
    assert scanner.report(scan_id, VULN_REPORT_1_1).status_code == 400  # not asked for


def test_a_scan_without_a_credential_the_registry_takes_ends_in_error_with_the_reason(imported):
    scanner = imported["scanner"]
    scan_id = scanner.scan(scan_request(imported["registry"].url, REPO, imported["digest"], "Bearer forged")).json()["id"]
    failed = scanner.report(scan_id, VULN_REPORT_1_1)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/vnd.scanner.adapter.error+json; version=1.0"
    assert "refused" in failed.json()["error"]["message"] and "401" in failed.json()["error"]["message"]


def test_a_basic_credential_is_exchanged_for_a_pull_token_at_the_registrys_realm(imported):
    scanner = imported["scanner"]
    scan_id = scanner.scan(scan_request(imported["registry"].url, REPO, imported["digest"],
                                        _admin()["Authorization"])).json()["id"]
    done = scanner.report(scan_id, VULN_REPORT_HARBOR)
    assert done.status_code == 200, done.text
    assert len(done.json()["vulnerabilities"]) == 4


def test_an_index_is_scanned_through_its_linux_amd64_image(imported):
    registry, scanner = imported["registry"], imported["scanner"]
    arm = push_image(registry.url, REPO, "arm", [compress(tar_of([dist_info(SITE, "requests", "2.31.0")]))], _admin())
    index = push_index(registry.url, REPO, "multi", {"linux/arm64": arm, "linux/amd64": imported["digest"]}, _admin())
    body = scan_request(registry.url, REPO, index, f"Bearer {imported['token']}")
    body["artifact"]["mime_type"] = "application/vnd.oci.image.index.v1+json"
    done = scanner.report(scanner.scan(body).json()["id"], VULN_REPORT_1_1)
    assert done.status_code == 200, done.text
    assert done.json()["artifact"]["digest"] == index
    assert [v["package"] for v in done.json()["vulnerabilities"]] == ["requests", "lodash", "libssl3", "openssl"]


def test_a_docker_v2_image_posted_as_harbor_posts_it_is_scanned(imported):
    registry, scanner = imported["registry"], imported["scanner"]
    layer = compress(tar_of([package_json("srv", "lodash", "4.17.20"), dist_info(SITE, "requests", "2.31.0")]))
    digest = push_image(registry.url, REPO, "docker", [layer], _admin(), docker=True)
    body = scan_request(registry.url, REPO, digest, f"Bearer {imported['token']}")
    body["artifact"]["mime_type"] = "application/vnd.docker.distribution.manifest.v2+json"
    accepted = scanner.http.post("/api/v1/scan", content=json.dumps(body), headers={
        "content-type": "application/vnd.scanner.adapter.scan.request+json; version=1.1"})
    assert accepted.status_code == 202, accepted.text
    done = scanner.report(accepted.json()["id"], VULN_REPORT_HARBOR)
    assert done.status_code == 200, done.text
    assert [(v["id"], v["package"]) for v in done.json()["vulnerabilities"]] == [("CVE-2021-23337", "lodash")]


def test_an_import_finds_the_scanned_images_its_new_records_hit_without_scanning_again(imported):
    scanner, workdir = imported["scanner"], imported["workdir"]
    before = scanner.http.get("/api/v1/tidemark/affected").json()
    record = osv("DEBIAN-CVE-2023-45853", "Debian:12", "zlib", [{"introduced": "0"}, {"fixed": "1:1.3.dfsg-1"}],
                 upstream=["CVE-2023-45853"])
    unrelated = osv("GHSA-0000-0000-0001", "PyPI", "requests", [{"introduced": "3.0.0"}, {"fixed": "3.0.1"}])
    feed = workdir / "zlib.json"
    feed.write_text(json.dumps([record, unrelated]))
    done = scanner.vulndb("import", str(feed))
    assert done.returncode == 0, done.stderr
    # the image and the index that holds it carry zlib1g (source zlib); requests 3.0 is in none
    assert "images against the new records" in done.stdout and "2 newly affected (2 new findings)" in done.stdout

    answer = scanner.http.get("/api/v1/tidemark/affected", params={"after": before["last"]})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert {(i["repository"], i["hit"]["id"], i["hit"]["package"]) for i in items} == {
        (REPO, "CVE-2023-45853", "zlib1g")}
    assert imported["digest"] in {i["digest"] for i in items}
    assert all(i["hit"]["fix_version"] == "1:1.3.dfsg-1" for i in items)
    assert answer.json()["last"] == max(i["sequence"] for i in items)
    assert scanner.http.get("/api/v1/tidemark/affected", params={"after": answer.json()["last"]}).json()["items"] == []

    again = scanner.vulndb("import", str(feed))  # the same records: nothing is new
    assert "0 newly affected" in again.stdout, again.stdout
    assert scanner.http.get("/api/v1/tidemark/affected", params={"after": "x"}).status_code == 400
