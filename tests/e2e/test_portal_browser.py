"""The portal in a real browser: Debian's chromium driven by Playwright against `tidemark serve`,
with skopeo pushing. Screenshots of each page go to the test's directory (kept by pytest under
its basetemp, and copied to $PORTAL_SCREENSHOTS when that is set)."""

import os
import shutil
import time

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
AXE = os.path.join(os.path.dirname(__file__), "axe", "node_modules", "axe-core", "axe.min.js")
HOSTILE = '"><img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>'


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (scripts/test-deps.sh installs it)")
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, registry, tmp_path):
    if registry.target != "tidemark":
        pytest.skip("the portal is Tidemark's")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def shoot(page, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("PORTAL_SCREENSHOTS")
    if target:
        os.makedirs(target, exist_ok=True)
        shutil.copy(path, os.path.join(target, path.name))


UNLABELLED = """() => [...document.querySelectorAll('input, button, select, textarea')]
  .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.textContent.trim()))
  .map((el) => el.outerHTML)"""


def sign_in(page, registry) -> None:
    page.goto(f"http://{registry.host}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Projects").wait_for()


def test_sign_in_create_a_project_and_see_a_push_arrive(page, registry, skopeo, tmp_path):
    from tests.e2e import oci_images

    page.goto(f"http://{registry.host}/")
    shoot(page, tmp_path, "sign-in")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "Wrong username or password" in page.get_by_role("alert").inner_text()
    sign_in(page, registry)
    shoot(page, tmp_path, "projects")
    name = f"web{time.monotonic_ns() % 10**8}"
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create").click()
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=f"Project {name}").wait_for()
    page.get_by_text("Page 1 of 1 (0)").wait_for()  # shown empty before the push
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=41)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    page.get_by_role("link", name=f"{name}/app").wait_for(timeout=15000)  # no reload: the event stream
    shoot(page, tmp_path, "project")
    page.get_by_role("link", name=f"{name}/app").click()
    row = page.locator("table.artifacts tbody tr")
    row.first.wait_for()
    assert "v1" in row.first.inner_text()
    assert f"{registry.host}/{name}/app@sha256:" in row.first.inner_text()
    assert row.first.locator(".scan").inner_text() == "not scanned"
    # the test servers start no scanner: the page says so, in the API's words
    row.first.get_by_role("button", name="Scan", exact=False).click()
    row.first.get_by_role("alert").wait_for()
    assert "no scanner is configured" in row.first.get_by_role("alert").inner_text()
    shoot(page, tmp_path, "repository")
    assert page.errors == []


def test_the_slider_shows_a_moved_tag_s_old_digest_and_restores_it(page, registry, skopeo, api, tmp_path):
    from tests.e2e import oci_images

    name = f"slide{time.monotonic_ns() % 10**8}"
    registry.create_project(name, public=False)
    first = oci_images.build_image(tmp_path / "a", tag="v1", seed=51)
    skopeo.copy(f"oci:{first.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    old = api.get(f"/projects/{name}/repositories/app/artifacts/v1").json()["digest"]
    time.sleep(1.1)  # the slider picks whole seconds
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.1)
    second = oci_images.build_image(tmp_path / "b", tag="v1", seed=52)
    skopeo.copy(f"oci:{second.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    new = api.get(f"/projects/{name}/repositories/app/artifacts/v1").json()["digest"]
    assert new != old
    sign_in(page, registry)
    page.goto(f"http://{registry.host}/#/projects/{name}/repositories/{name}%2Fapp")
    page.locator(f"tr[data-digest='{new}']").wait_for()
    page.goto(f"http://{registry.host}/#/projects/{name}/repositories/{name}%2Fapp?at={moment}")
    page.get_by_role("status").wait_for()
    assert "looking at the past" in page.get_by_role("status").inner_text()
    page.locator(f"tr[data-digest='{new}']").wait_for(state="detached")
    assert "v1" in page.locator(f"tr[data-digest='{old}']").inner_text()  # the tag where it was
    shoot(page, tmp_path, "repository-past")
    page.get_by_role("button", name="Now").click()
    page.locator(f"tr[data-digest='{new}']").wait_for()
    page.goto(f"http://{registry.host}/#/projects/{name}/repositories/{name}%2Fapp/artifacts/{new}")
    page.get_by_role("heading", name="History of v1").wait_for()
    page.get_by_role("heading", name="Layers").wait_for()
    layers = api.get(f"/projects/{name}/repositories/app/artifacts/v1/manifest").json()["layers"]
    assert page.locator("table.layers tbody tr").count() == len(layers)
    shoot(page, tmp_path, "artifact")
    page.get_by_role("button", name="Restore this").first.click()
    deadline = time.monotonic() + 15
    while api.get(f"/projects/{name}/repositories/app/artifacts/v1").json()["digest"] != old:
        assert time.monotonic() < deadline, "the tag was not restored"
        time.sleep(0.2)
    assert page.errors == []


def _push_note(registry, repository: str, subject: dict, note: str) -> str:
    """An OCI referrer of `subject` whose annotation is `note` (Basic auth on /v2)."""
    import hashlib
    import json

    empty = b"{}"
    empty_digest = "sha256:" + hashlib.sha256(empty).hexdigest()
    base = f"http://{registry.host}/v2/{repository}"
    auth = ("admin", ADMIN_PASSWORD)
    httpx.post(f"{base}/blobs/uploads/", params={"digest": empty_digest}, content=empty, auth=auth,
               headers={"content-type": "application/octet-stream"}).raise_for_status()
    descriptor = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty_digest, "size": 2}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "artifactType": "application/vnd.example.note", "config": descriptor,
                           "layers": [descriptor], "subject": subject, "annotations": {"note": note}}).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    httpx.put(f"{base}/manifests/{digest}", content=manifest, auth=auth,
              headers={"content-type": "application/vnd.oci.image.manifest.v1+json"}).raise_for_status()
    return digest


def test_what_users_write_is_shown_as_text_and_never_runs(page, registry, skopeo, api, tmp_path):
    """`<script>` and `"><img src=x onerror=...>` in every field a user writes that the portal
    shows: a label's name and description, a webhook's name, a robot's description, an
    artifact's annotation."""
    from tests.e2e import oci_images

    name = f"xss{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=61)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    project_id = api.get(f"/projects/{name}").json()["project_id"]
    label = api.post("/labels", json={"name": HOSTILE[:120], "description": HOSTILE, "scope": "p",
                                      "project_id": project_id})
    assert label.status_code == 201, label.text
    label_id = int(label.headers["location"].rsplit("/", 1)[1])
    added = api.post(f"/projects/{name}/repositories/app/artifacts/v1/labels", json={"id": label_id})
    assert added.status_code == 200, added.text
    hook = api.post(f"/projects/{name}/webhook/policies", json={
        "name": HOSTILE[:200], "description": HOSTILE, "enabled": True, "event_types": ["PUSH_ARTIFACT"],
        "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]})
    assert hook.status_code == 201, hook.text
    robot = api.post("/robots", json={"name": "xss", "description": HOSTILE, "level": "project", "duration": -1,
                                      "permissions": [{"kind": "project", "namespace": name,
                                                       "access": [{"resource": "repository", "action": "pull"}]}]})
    assert robot.status_code == 201, robot.text
    subject = api.get(f"/projects/{name}/repositories/app/artifacts/v1").json()
    manifest = api.get(f"/projects/{name}/repositories/app/artifacts/v1/manifest")
    note = _push_note(registry, f"{name}/app", {"mediaType": subject["manifest_media_type"],
                                                "digest": subject["digest"], "size": len(manifest.content)}, HOSTILE)
    sign_in(page, registry)
    repository = f"http://{registry.host}/#/projects/{name}/repositories/{name}%2Fapp"
    page.goto(repository)
    page.locator(".label").first.wait_for()
    assert page.locator(".label").first.inner_text() == HOSTILE[:120]
    page.locator(f"tr[data-digest='{subject['digest']}'] .accessory").first.wait_for()
    page.goto(f"{repository}/artifacts/{note}")
    page.get_by_text("note:").wait_for()
    assert HOSTILE in page.locator("dl.facts").inner_text()
    page.goto(f"http://{registry.host}/#/projects/{name}")
    for tab, shown in (("Labels", HOSTILE), ("Webhooks", HOSTILE[:200]), ("Robots", HOSTILE)):
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(shown, exact=False).first.wait_for()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.errors == []


def test_the_page_is_served_with_a_strict_policy_and_sign_out_ends_the_session(page, registry):
    answer = httpx.get(f"http://{registry.host}/")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    sign_in(page, registry)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sid"]["httpOnly"] and cookies["sid"]["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    replay = httpx.get(f"http://{registry.host}/api/v2.0/users/current", cookies={"sid": cookies["sid"]["value"]})
    assert replay.status_code == 401


def test_keyboard_alone_signs_in_and_every_control_has_a_label(page, registry, tmp_path):
    page.goto(f"http://{registry.host}/")
    page.get_by_label("Username").wait_for()
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Tab")
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Projects").wait_for()
    assert page.evaluate(UNLABELLED) == []
    page.goto(f"http://{registry.host}/#/admin")
    page.get_by_role("heading", name="Administration").wait_for()
    for tab in ("Users", "System robots", "Registries", "Replication", "Audit log", "Garbage collection",
                "Configuration", "Live events"):
        page.get_by_role("tab", name=tab).click()
        assert page.evaluate(UNLABELLED) == [], tab


def test_administration_shows_users_the_audit_log_gc_runs_configuration_and_live_events(
        page, registry, skopeo, api, tmp_path):
    from tests.e2e import oci_images

    sign_in(page, registry)
    page.goto(f"http://{registry.host}/#/admin")
    page.get_by_role("cell", name="admin", exact=True).first.wait_for()
    newcomer = f"new{time.monotonic_ns() % 10**8}"
    form = page.get_by_role("form", name="New user")
    form.get_by_label("Username").fill(newcomer)
    form.get_by_label("Email").fill(f"{newcomer}@example.com")
    form.get_by_label("Password").fill("Newcomer-Passw0rd")
    form.get_by_role("button", name="Create user").click()
    page.get_by_label(f"Administrator: {newcomer}").check()
    page.get_by_label(f"Enabled: {newcomer}").uncheck()
    deadline = time.monotonic() + 15
    while True:
        [row] = [u for u in api.get("/users", params={"username": newcomer}).json() if u["username"] == newcomer]
        if row["sysadmin_flag"] and row.get("enabled") is False:
            break
        assert time.monotonic() < deadline, row
        time.sleep(0.2)
    assert httpx.get(f"http://{registry.host}/api/v2.0/users/current",
                     auth=(newcomer, "Newcomer-Passw0rd")).status_code == 401  # disabled: no way in
    page.get_by_role("tab", name="Audit log").click()
    page.locator("table tbody tr").first.wait_for()
    page.get_by_role("tab", name="Garbage collection").click()
    before = page.locator("table tbody tr").count()
    page.get_by_role("button", name="Dry run").click()
    page.locator("table tbody tr").nth(before).wait_for()
    page.get_by_role("cell", name="Success").first.wait_for(timeout=30000)
    shoot(page, tmp_path, "gc")
    page.get_by_role("tab", name="Registries").click()
    endpoint = f"nowhere{time.monotonic_ns() % 10**8}"
    form = page.get_by_role("form", name="New registry endpoint")
    form.get_by_label("Name", exact=True).fill(endpoint)
    form.get_by_label("URL").fill("http://127.0.0.1:9")
    form.get_by_role("button", name="Add registry").click()
    page.get_by_role("button", name=f"Ping {endpoint}").click()
    page.get_by_role("row").filter(has_text=endpoint).filter(has_not_text="Ping" + endpoint).first.wait_for()
    [registry_id] = [r["id"] for r in api.get("/registries", params={"page_size": 100}).json() if r["name"] == endpoint]
    policy = api.post("/replication/policies", json={
        "name": f"to-{endpoint}", "dest_registry": {"id": registry_id}, "filters": [{"type": "name", "value": "library/**"}],
        "retry_attempts": 1, "retry_backoff_seconds": 0})
    assert policy.status_code == 201, policy.text
    page.get_by_role("tab", name="Replication").click()
    page.get_by_role("button", name=f"Replicate now: to-{endpoint}").click()
    page.locator("table").nth(1).locator("tbody tr").first.wait_for()
    shoot(page, tmp_path, "replication")
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_label("robot_name_prefix").wait_for()
    page.get_by_label("robot_name_prefix").fill("bot$")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    assert api.get("/configurations").json()["robot_name_prefix"]["value"] == "bot$"
    api.put("/configurations", json={"robot_name_prefix": "robot$"}).raise_for_status()
    page.get_by_role("tab", name="Live events").click()
    page.get_by_text("Event stream: live").wait_for()
    name = f"feed{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=71)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    page.get_by_role("cell", name=f"{name}/app").first.wait_for(timeout=15000)
    shoot(page, tmp_path, "events")
    page.goto(f"http://{registry.host}/#/projects/{name}")
    page.get_by_role("tab", name="Changes").click()
    page.get_by_role("button", name="Show changes").click()
    page.get_by_role("cell", name="artifact.pushed.v1").first.wait_for()
    assert page.errors == []


def test_delete_and_undelete_an_artifact(page, registry, skopeo, api, tmp_path):
    from tests.e2e import oci_images

    name = f"undel{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=81)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    digest = api.get(f"/projects/{name}/repositories/app/artifacts/v1").json()["digest"]
    sign_in(page, registry)
    page.goto(f"http://{registry.host}/#/projects/{name}/repositories/{name}%2Fapp")
    row = page.locator(f"table.artifacts tr[data-digest='{digest}']")
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Confirm delete").click()
    row.wait_for(state="detached")
    assert api.get(f"/projects/{name}/repositories/app/artifacts/{digest}").status_code == 404
    gone = page.locator(f"table.deleted tr[data-digest='{digest}']")
    gone.wait_for()
    shoot(page, tmp_path, "deleted")
    gone.get_by_role("button", name="Undelete").click()
    page.locator(f"table.artifacts tr[data-digest='{digest}']").wait_for()
    assert api.get(f"/projects/{name}/repositories/app/artifacts/{digest}").status_code == 200
    assert page.errors == []


def test_a_retention_dry_run_and_a_webhook_delivery_from_the_project_page(page, registry, skopeo, api, tmp_path):
    from tests.e2e import oci_images
    from tests.integration.webhook_receivers import Receiver

    name = f"policy{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    for seed, tag in ((91, "v1"), (92, "v2")):
        image = oci_images.build_image(tmp_path / tag, tag=tag, seed=seed)
        skopeo.copy(f"oci:{image.layout_dir}:{tag}", registry.ref(f"{name}/app", tag))
    sign_in(page, registry)
    page.goto(f"http://{registry.host}/#/projects/{name}")
    page.get_by_role("tab", name="Retention").click()
    form = page.get_by_role("form", name="New retention policy")
    form.get_by_label("Keep the most recently pushed").fill("1")
    form.get_by_role("button", name="Create policy").click()
    page.get_by_role("button", name="Dry run").click()
    deadline = time.monotonic() + 30
    while "retained 1 of 2" not in page.locator("ul.tasks").all_inner_texts().__str__():
        assert time.monotonic() < deadline, "the dry run did not show its task"
        page.get_by_role("button", name="Refresh").click()
        time.sleep(0.5)
    page.get_by_role("button", name="Log").first.click()
    from playwright.sync_api import expect

    expect(page.get_by_label("Task log")).to_contain_text("would delete")
    shoot(page, tmp_path, "retention")
    assert api.get(f"/projects/{name}/repositories/app/artifacts", params={"page_size": 10}).json().__len__() == 2
    with Receiver() as receiver:
        page.get_by_role("tab", name="Webhooks").click()
        hook = page.get_by_role("form", name="New webhook")
        hook.get_by_label("Name").fill("ci")
        hook.get_by_label("Endpoint").fill(receiver.url)
        hook.get_by_role("button", name="Add webhook").click()
        page.get_by_role("heading", name="ci").wait_for()
        image = oci_images.build_image(tmp_path / "v3", tag="v3", seed=93)
        skopeo.copy(f"oci:{image.layout_dir}:v3", registry.ref(f"{name}/app", "v3"))
        assert receiver.wait_for(1)[0].json()["type"] == "PUSH_ARTIFACT"
        deadline = time.monotonic() + 30
        while "success" not in page.locator("table.jobs").inner_text().lower():
            assert time.monotonic() < deadline, "the delivery did not show as a job"
            page.locator("article.webhook").get_by_role("button", name="Refresh").click()
            time.sleep(0.5)
        shoot(page, tmp_path, "webhooks")
        page.locator("table.jobs").get_by_role("button", name="Resend").first.click()
        receiver.wait_for(2)
    assert page.errors == []


def test_usable_at_390_pixels_wide(browser, registry, skopeo, api, tmp_path):
    from tests.e2e import oci_images

    if registry.target != "tidemark":
        pytest.skip("the portal is Tidemark's")
    name = f"narrow{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=95)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, registry)
        for path in ("", f"projects/{name}", f"projects/{name}/repositories/{name}%2Fapp"):
            page.goto(f"http://{registry.host}/#/{path}")
            page.locator("h2").first.wait_for()
            page.locator("table tbody tr").first.wait_for()
            # nothing but a table's own scroll box is wider than the screen
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, path
        shoot(page, tmp_path, "repository-390")
    finally:
        context.close()


def test_axe_core_finds_no_serious_accessibility_violations(browser, registry, skopeo, tmp_path):
    """axe-core (npm, tests/e2e/axe) on the main pages. The check's own script is injected, so
    this context bypasses the page's CSP: the policy itself is checked above."""
    from tests.e2e import oci_images

    if registry.target != "tidemark":
        pytest.skip("the portal is Tidemark's")
    if not os.path.exists(AXE):
        pytest.fail("axe-core is not installed (scripts/test-deps.sh installs it)")
    name = f"axe{time.monotonic_ns() % 10**8}"
    registry.create_project(name)
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=97)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{name}/app", "v1"))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    found = {}
    try:
        page.goto(f"http://{registry.host}/")
        page.get_by_label("Username").wait_for()
        page.add_script_tag(path=AXE)
        # the harness sees a violation when there is one: an input with no label, added and removed
        planted = page.evaluate("""async () => {
            const input = document.body.appendChild(document.createElement('input'));
            const ids = (await axe.run(document)).violations.map((v) => v.id);
            input.remove();
            return ids; }""")
        assert "label" in planted
        pages = {"sign-in": None, "projects": "", "project": f"projects/{name}",
                 "repository": f"projects/{name}/repositories/{name}%2Fapp", "administration": "admin"}
        for label, path in pages.items():
            if path is not None:
                if label == "projects":
                    sign_in(page, registry)
                page.goto(f"http://{registry.host}/#/{path}")
                page.locator("h2").first.wait_for()
                page.wait_for_load_state("networkidle")
            page.add_script_tag(path=AXE)
            violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => `${v.id}: ${v.nodes.length} (${v.help})`)""")
            if violations:
                found[label] = violations
    finally:
        context.close()
    assert found == {}


def test_members_added_and_removed_and_a_robot_whose_secret_shows_once(page, registry, api, tmp_path):
    name = f"team{time.monotonic_ns() % 10**8}"
    registry.create_project(name, public=False)
    user = f"dev{time.monotonic_ns() % 10**8}"
    api.post("/users", json={"username": user, "password": "Dev-Passw0rd1", "email": f"{user}@example.com"}).raise_for_status()
    sign_in(page, registry)
    page.goto(f"http://{registry.host}/#/projects/{name}")
    page.get_by_role("tab", name="Members").click()
    form = page.get_by_role("form", name="Add member")
    form.get_by_label("Username").fill(user)
    form.get_by_label("Role").select_option(label="Developer")
    form.get_by_role("button", name="Add member").click()
    page.get_by_role("cell", name=user, exact=True).wait_for()
    members = {m["entity_name"]: m["role_name"] for m in api.get(f"/projects/{name}/members").json()}
    assert members[user] == "developer"
    page.get_by_role("button", name=f"Remove {user}").click()
    page.get_by_role("cell", name=user, exact=True).wait_for(state="detached")
    assert user not in {m["entity_name"] for m in api.get(f"/projects/{name}/members").json()}
    page.get_by_role("tab", name="Quota").click()
    page.get_by_role("form", name="Storage limit").get_by_label("Limit in GiB (empty: none)").fill("2")
    page.get_by_role("button", name="Set limit").click()
    page.get_by_text("of 2.0 GiB").wait_for()
    [quota] = api.get("/quotas", params={"reference": "project", "reference_id": api.get(
        f"/projects/{name}").json()["project_id"]}).json()
    assert quota["hard"]["storage"] == 2 * 1024 ** 3
    page.get_by_role("tab", name="Robots").click()
    robot = page.get_by_role("form", name="New robot")
    robot.get_by_label("Name").fill("ci")
    robot.get_by_role("button", name="Create robot").click()
    shown = page.locator("p.secret")
    shown.wait_for()
    robot_name, secret = [c.inner_text() for c in shown.locator("code").all()]
    shoot(page, tmp_path, "robots")
    import jwt

    token = httpx.get(f"http://{registry.host}/service/token", auth=(robot_name, secret), params={
        "service": "tidemark", "scope": f"repository:{name}/app:pull,push"}).json()["token"]
    access = jwt.decode(token, options={"verify_signature": False})["access"]
    assert access == [{"type": "repository", "name": f"{name}/app", "actions": ["pull"]}]  # what was ticked
    page.get_by_role("tab", name="Members").click()
    page.get_by_role("tab", name="Robots").click()
    assert page.locator("p.secret").count() == 0  # once: gone when the panel is shown again
    assert page.errors == []
