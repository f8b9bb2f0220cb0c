"""SBOM generation through HTTP: a scan of type "sbom" stores the scanner's SPDX document as the
image's accessory (Harbor's layout), shown by sbom_overview, the referrers API, /accessories and
additions/sbom; auto_sbom_generation on push; refusals and faults. The scanner is the loopback
adapter of tests/integration/fake_scanner.py."""

import json

import msgspec
import pytest

from tests.integration.fake_scanner import SPDX, FakeScanner
from tests.integration.oci_client import OCI_MANIFEST, descriptor
from tests.integration.test_scanning import API, project, register, scan
from tests.integration.webhook_receivers import wait_until

SBOM_TYPE = "application/vnd.goharbor.harbor.sbom.v1"
SBOM_REPORT = "application/vnd.security.sbom.report+json; version=1.0"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def settings(settings):
    return msgspec.structs.replace(settings, scan_attempts=2, scan_retry_base_seconds=0.01,
                                   scan_timeout_seconds=30.0, scan_refresh_max_seconds=0.05)


def sbom_done(registry, repo: str, digest: str, run: int = 1):
    def done():
        row = registry.scan_runs.latest(repo, digest, 1, "sbom")
        return row if row is not None and row.run >= run and row.status not in ("Pending", "Running") else None
    return wait_until(done, 20)


def make_default(http, uuid: str) -> None:
    assert http.patch(f"{API}/scanners/{uuid}", json={"is_default": True}).status_code == 200


def artifact(http, repo: str, ref: str, **params) -> dict:
    project_name, name = repo.split("/", 1)
    answer = http.get(f"{API}/projects/{project_name}/repositories/{name}/artifacts/{ref}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_sbom_scan_stores_the_document_as_the_images_accessory(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    with FakeScanner("ok", pending_polls=1) as fake:
        register(http, fake.url)
        assert scan(http, scan_type="sbom").status_code == 202
        row = sbom_done(registry, "p1/app", digest)
        assert row.status == "Success", row.reason
        capability = fake.requests[0]["enabled_capabilities"]
        assert capability == [{"type": "sbom", "produces_mime_types": [SBOM_REPORT],
                               "parameters": {"sbom_media_types": ["application/spdx+json"]}}]
        assert fake.polls[-1] == SBOM_REPORT
    overview = artifact(http, "p1/app", "v1", with_sbom_overview="true")["sbom_overview"]
    assert overview["scan_status"] == "Success" and overview["report_id"] == row.scan_key
    assert overview["scanner"] == {"name": "Fake", "vendor": "", "version": "9.9"}
    sbom = overview["sbom_digest"]
    # the accessory, in Harbor's layout, found as Harbor and OCI clients look for it
    manifest = http.get(f"/v2/p1/app/manifests/{sbom}", headers={"accept": OCI_MANIFEST}).json()
    assert manifest["artifactType"] == SBOM_TYPE and manifest["subject"]["digest"] == digest
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/spdx+json"]
    blob = http.get(f"/v2/p1/app/blobs/{manifest['layers'][0]['digest']}")
    assert json.loads(blob.content) == SPDX
    referrers = http.get(f"/v2/p1/app/referrers/{digest}").json()["manifests"]
    assert [(r["digest"], r["artifactType"]) for r in referrers] == [(sbom, SBOM_TYPE)]
    accessories = http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/accessories").json()
    assert [(a["digest"], a["type"]) for a in accessories] == [(sbom, "harbor.sbom")]
    for ref in ("v1", sbom):
        addition = http.get(f"{API}/projects/p1/repositories/app/artifacts/{ref}/additions/sbom")
        assert addition.status_code == 200 and addition.json() == SPDX
    log = http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/scan/{row.scan_key}/log")
    assert "SBOM received" in log.text
    # the vulnerability overview is untouched, and the accessory is not an artifact of its own list
    assert artifact(http, "p1/app", "v1", with_scan_overview="true")["scan_overview"] == {}
    # a second, different SBOM replaces the first, which is deleted
    with FakeScanner("ok", pending_polls=0) as fake:
        fake.sbom_document = {**SPDX, "name": "fake, later"}
        make_default(http, register(http, fake.url, "Fake2"))
        assert scan(http, scan_type="sbom").status_code == 202
        again = sbom_done(registry, "p1/app", digest, run=2)
    assert again.status == "Success", again.reason
    newer = artifact(http, "p1/app", "v1", with_sbom_overview="true")["sbom_overview"]["sbom_digest"]
    assert newer != sbom
    assert http.get(f"/v2/p1/app/manifests/{sbom}", headers={"accept": OCI_MANIFEST}).status_code == 404
    assert [r["digest"] for r in http.get(f"/v2/p1/app/referrers/{digest}").json()["manifests"]] == [newer]
    # deleting the image deletes its SBOM with it
    assert http.delete(f"{API}/projects/p1/repositories/app/artifacts/v1").status_code == 200
    assert http.get(f"/v2/p1/app/manifests/{newer}", headers={"accept": OCI_MANIFEST}).status_code == 404


def test_auto_sbom_generation_makes_one_sbom_per_pushed_image(http, registry, oci):
    from tests.integration.webhook_flows import create_policy
    from tests.integration.webhook_receivers import Receiver

    project(http, "p1")
    metadata = {"auto_sbom_generation": "true", "auto_scan": "true"}
    assert http.put(f"{API}/projects/p1", json={"metadata": metadata}).status_code == 200
    with FakeScanner("ok", pending_polls=0) as fake, Receiver() as receiver:
        create_policy(http, receiver.url, ["SCANNING_COMPLETED"], project="p1")
        register(http, fake.url)
        digest, _ = oci.push_image("p1/app", "v1")
        row = sbom_done(registry, "p1/app", digest)
        assert row.status == "Success" and row.trigger == "auto"
        sent = {tuple(sorted(r)): r for r in (b.json()["event_data"]["resources"][0] for b in receiver.wait_for(2))}
        wait_until(lambda: (lambda r: r if r and r.status == "Success" else None)(
            registry.scan_runs.latest("p1/app", digest, 1, "vulnerability")), 20)
        wait_until(lambda: not registry.scan_runs.pushes(), 20)
        # the SBOM accessory the worker pushed asked for nothing of its own
        sbom = artifact(http, "p1/app", "v1", with_sbom_overview="true")["sbom_overview"]["sbom_digest"]
        assert registry.scan_runs.latest("p1/app", sbom, 1, "sbom") is None
        assert registry.scan_runs.latest("p1/app", sbom, 1, "vulnerability") is None
        assert len(fake.requests) == 2
    listed = http.get(f"{API}/projects/p1/repositories/app/artifacts",
                      params={"with_sbom_overview": "true", "q": f"digest={digest}"}).json()
    assert listed[0]["sbom_overview"]["sbom_digest"] == sbom
    # Harbor's SCANNING_COMPLETED for each: the SBOM run's with its sbom_overview
    by_kind = {"sbom_overview" if "sbom_overview" in r else "scan_overview": r for r in sent.values()}
    assert by_kind["sbom_overview"]["sbom_overview"]["sbom_digest"] == sbom
    assert by_kind["sbom_overview"]["sbom_overview"]["report_id"] == row.scan_key
    assert by_kind["scan_overview"]["digest"] == digest


def test_sbom_refusals_and_faults(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    child, _ = oci.push_image("p1/app", "child")
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{**descriptor(OCI_MANIFEST, http.get(f"/v2/p1/app/manifests/{child}",
                                                                headers={"accept": OCI_MANIFEST}).content)}]}
    oci.push_manifest("p1/app", "multi", index, "application/vnd.oci.image.index.v1+json")
    with FakeScanner("ok", pending_polls=0) as fake:
        register(http, fake.url)
        head = registry.app.head()
        # an index has no SBOM of its own; nothing recorded
        refused = scan(http, ref="multi", scan_type="sbom")
        assert refused.status_code == 422 and "SBOM" in refused.json()["errors"][0]["message"]
        assert http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/additions/sbom").status_code == 404
        assert registry.app.head() == head
        # an answer in another format than asked is an error, nothing stored
        fake.sbom_media_type = "application/vnd.cyclonedx+json"
        assert scan(http, scan_type="sbom").status_code == 202
        row = sbom_done(registry, "p1/app", digest)
        assert row.status == "Error" and "asked for application/spdx+json" in row.reason
        assert http.get(f"/v2/p1/app/referrers/{digest}").json()["manifests"] == []
    # a project over its quota: the run fails with the reason, nothing stored
    assert http.post(f"{API}/projects", json={"project_name": "small", "storage_limit": 4000}).status_code == 201
    small, _ = oci.push_image("small/app", "v1")
    used = http.get(f"{API}/quotas", params={"reference_id": "small"})
    with FakeScanner("ok", pending_polls=0) as fake:
        make_default(http, register(http, fake.url, "Other"))
        fake.sbom_document = {**SPDX, "packages": SPDX["packages"] * 100}  # about 9 KB
        assert scan(http, "small/app", scan_type="sbom").status_code == 202
        row = sbom_done(registry, "small/app", small)
    assert row.status == "Error" and "quota" in row.reason, row.reason
    assert http.get(f"/v2/small/app/referrers/{small}").json()["manifests"] == []
    assert http.get(f"{API}/quotas", params={"reference_id": "small"}).json() == used.json()
