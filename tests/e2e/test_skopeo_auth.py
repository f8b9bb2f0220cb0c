"""skopeo through the real token flow: who may push and pull what."""

import itertools
import json

import pytest

from tests.e2e import oci_images
from tests.e2e.conftest import ADMIN_PASSWORD, Skopeo

pytestmark = pytest.mark.e2e
_names = itertools.count(1)




@pytest.fixture
def world(api, tmp_path):
    """A private project with a developer and a guest, and a built image."""
    n = next(_names)
    project, dev, guest = f"secret{n}", f"dev{n}", f"guest{n}"
    assert api.post("/projects", json={"project_name": project, "metadata": {"public": "false"}}).status_code == 201
    for user in (dev, guest):
        assert api.post("/users", json={"username": user, "password": "Passw0rd-" + user,
                                        "email": f"{user}@example.com"}).status_code == 201
    for user, role in ((dev, 2), (guest, 3)):
        response = api.post(f"/projects/{project}/members",
                            json={"role_id": role, "member_user": {"username": user}})
        assert response.status_code == 201
    image = oci_images.build_image(tmp_path / "image", tag="v1", seed=n)
    return {"project": project, "dev": dev, "guest": guest, "image": image}


def _request_log(registry) -> list[dict]:
    """The server's request lines (JSON, one per request; never query strings)."""
    entries = []
    for line in registry.log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "request":
            entries.append(entry)
    return entries


def creds(user: str) -> str:
    return f"{user}:Passw0rd-{user}"


def fresh_skopeo(tmp_path, registry, name: str) -> Skopeo:
    folder = tmp_path / name
    folder.mkdir()
    return Skopeo(folder, registry)


def test_developer_pushes_and_guest_only_pulls(world, registry, tmp_path):
    skopeo = fresh_skopeo(tmp_path, registry, "s")
    source = f"oci:{world['image'].layout_dir}:v1"
    target = registry.ref(f"{world['project']}/app", "v1")
    skopeo.copy(source, target, "--dest-creds", creds(world["dev"]))
    pulled = skopeo.run("inspect", "--tls-verify=false", "--creds", creds(world["guest"]), target)
    assert world["image"].manifest_digest in pulled.stdout
    refused = skopeo.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                         "--dest-creds", creds(world["guest"]), source,
                         registry.ref(f"{world['project']}/app", "v2"), check=False)
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()


def test_anonymous_pulls_public_but_not_private(world, registry, tmp_path, skopeo, repo):
    skopeo.copy(f"oci:{world['image'].layout_dir}:v1", registry.ref(repo, "v1"))
    skopeo.copy(f"oci:{world['image'].layout_dir}:v1", registry.ref(f"{world['project']}/app", "v1"))
    anonymous = fresh_skopeo(tmp_path, registry, "anon")
    assert anonymous.inspect(registry.ref(repo, "v1")).returncode == 0
    refused = anonymous.inspect(registry.ref(f"{world['project']}/app", "v1"), check=False)
    assert refused.returncode != 0


def test_skopeo_login_with_wrong_password_fails(world, registry, tmp_path):
    skopeo = fresh_skopeo(tmp_path, registry, "login")
    assert skopeo.login(world["dev"], "Wrong-passw0rd", check=False).returncode != 0
    assert skopeo.login(world["dev"], "Passw0rd-" + world["dev"]).returncode == 0


def test_pull_only_robot_cannot_push(world, api, registry, tmp_path):
    project = world["project"]
    created = api.post("/robots", json={
        "name": "reader", "level": "project", "duration": -1,
        "permissions": [{"kind": "project", "namespace": project,
                         "access": [{"resource": "repository", "action": "pull"}]}]}).json()
    robot = f"{created['name']}:{created['secret']}"
    skopeo = fresh_skopeo(tmp_path, registry, "robot")
    source = f"oci:{world['image'].layout_dir}:v1"
    skopeo.copy(source, registry.ref(f"{project}/app", "v1"), "--dest-creds", creds(world["dev"]))
    assert skopeo.run("inspect", "--tls-verify=false", "--creds", robot,
                      registry.ref(f"{project}/app", "v1")).returncode == 0
    pushed = skopeo.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                        "--dest-creds", robot, source, registry.ref(f"{project}/other", "v1"),
                        check=False)
    assert pushed.returncode != 0


def test_disabled_user_is_refused_at_once(world, api, registry, tmp_path):
    skopeo = fresh_skopeo(tmp_path, registry, "disabled")
    target = registry.ref(f"{world['project']}/app", "v1")
    skopeo.copy(f"oci:{world['image'].layout_dir}:v1", target, "--dest-creds", creds(world["dev"]))
    user_id = next(u["user_id"] for u in api.get("/users", params={"username": world["dev"]}).json()
                   if u["username"] == world["dev"])
    assert api.put(f"/users/{user_id}/enabled", json={"enabled": False}).status_code == 200
    refused = skopeo.run("inspect", "--tls-verify=false", "--creds", creds(world["dev"]), target,
                         check=False)
    assert refused.returncode != 0


def test_copy_between_projects_mounts_layers_through_the_token_flow(world, api, registry, tmp_path):
    # given an image in one private project, and a user who may only pull there (guest)
    # but may push to a second private project (developer)
    source_project, user = world["project"], world["guest"]
    target_project = f"{source_project}-dst"
    assert api.post("/projects", json={"project_name": target_project,
                                       "metadata": {"public": "false"}}).status_code == 201
    assert api.post(f"/projects/{target_project}/members",
                    json={"role_id": 2, "member_user": {"username": user}}).status_code == 201
    image = oci_images.build_image(tmp_path / "mounted", tag="v1", seed=7000 + next(_names))
    skopeo = fresh_skopeo(tmp_path, registry, "mounts")
    source, target = f"{source_project}/app", f"{target_project}/app"
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(source, "v1"),
                "--dest-creds", f"admin:{ADMIN_PASSWORD}")

    # when the user copies it from one project to the other with their own token
    skopeo.copy(registry.ref(source, "v1"), registry.ref(target, "v1"),
                "--src-creds", creds(user), "--dest-creds", creds(user))

    # then the registry linked every layer into the target by mounting it from the source
    events = api.get("/events", params={"limit": 10_000, "project": target_project,
                                        "type": "io.tidemark.blob.linked.v1"}).json()
    linked = {e["data"]["digest"]: e["data"]["mounted_from"] for e in events
              if e["data"]["repository"] == target}
    requests = [(e["method"], e["path"], e["status"]) for e in _request_log(registry)
                if e["path"].startswith(f"/v2/{target}/")]
    assert {digest: linked.get(digest) for digest in image.layer_digests} == \
        {digest: source for digest in image.layer_digests}, requests
    # and the server's request log shows no layer sent again: at most one blob upload (the
    # config's, which clients send rather than mount) finished in the target
    uploaded = [entry for entry in _request_log(registry) if entry["method"] == "PUT"
                and entry["path"].startswith(f"/v2/{target}/blobs/uploads/")]
    mounts = [entry for entry in _request_log(registry) if entry["method"] == "POST"
              and entry["path"].startswith(f"/v2/{target}/blobs/uploads") and entry["status"] == 201]
    assert len(uploaded) <= 1, uploaded
    assert len(mounts) >= len(image.layer_digests), mounts
    assert skopeo.inspect_json(registry.ref(target, "v1"), "--creds", creds(user))["Digest"] == \
        image.manifest_digest
