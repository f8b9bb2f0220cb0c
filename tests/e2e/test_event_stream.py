"""The Server-Sent Events feed against a running server, as a subscriber reads it."""

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


def _ids(response, count: int) -> list[int]:
    ids = []
    for line in response.iter_lines():
        if line.startswith("id:"):
            ids.append(int(line[3:].strip()))
            if len(ids) == count:
                break
    return ids


def test_stream_resumes_after_last_event_id_without_gaps(registry, skopeo, repo, tmp_path):
    if registry.target != "tidemark":
        pytest.skip("the event stream is Tidemark's")
    from tests.e2e import oci_images

    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=11)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(repo, "v1"))
    base = f"http://{registry.host}/api/v2.0"
    with httpx.Client(auth=("admin", ADMIN_PASSWORD), timeout=30) as client:
        everything = client.get(f"{base}/events", params={"limit": 10000}).json()
        assert len(everything) > 5
        cut = everything[len(everything) // 2]["position"]
        with client.stream("GET", f"{base}/events/stream", headers={"Last-Event-ID": str(cut)}) as first:
            assert first.headers["content-type"].startswith("text/event-stream")
            got = _ids(first, 2)
        with client.stream("GET", f"{base}/events/stream", headers={"Last-Event-ID": str(got[-1])}) as second:
            rest = [e["position"] for e in everything if e["position"] > got[-1]]
            got += _ids(second, len(rest))
    assert got == [e["position"] for e in everything if e["position"] > cut]


def _stream_until(client: httpx.Client, url: str, auth: tuple, position: int) -> str:
    """The stream's text from the first event up to the one at `position`."""
    text = ""
    with client.stream("GET", url, auth=auth, headers={"Last-Event-ID": "0"}) as stream:
        for line in stream.iter_lines():
            text += line + "\n"
            if line.startswith("id:") and int(line[3:].strip()) >= position:
                return text
    return text


def test_stream_shows_webhook_targets_only_to_those_who_may_read_the_policy(registry):
    if registry.target != "tidemark":
        pytest.skip("the event stream is Tidemark's")
    base = f"http://{registry.host}/api/v2.0"
    slack = "https://hooks.slack.com/services/T0E2E/B0E2E/streamSecretToken"
    users = {"guest": ("sse-guest", 3), "maintainer": ("sse-maint", 4), "outsider": ("sse-out", None)}
    with httpx.Client(auth=("admin", ADMIN_PASSWORD), timeout=30) as client:
        assert client.post(f"{base}/projects", json={"project_name": "ssehooks",
                                                      "metadata": {"public": "true"}}).status_code == 201
        for name, role in users.values():
            assert client.post(f"{base}/users", json={"username": name,
                                                      "password": "Pass-w0rd1"}).status_code == 201
            if role:
                assert client.post(f"{base}/projects/ssehooks/members", json={
                    "role_id": role, "member_user": {"username": name}}).status_code == 201
        created = client.post(f"{base}/projects/ssehooks/webhook/policies", json={
            "name": "slack", "event_types": ["QUOTA_EXCEED"],
            "targets": [{"type": "slack", "address": slack}]})
        assert created.status_code == 201, created.text
        # An event after the policy's that every one of them may see: a member added.
        assert client.post(f"{base}/users", json={"username": "sse-later",
                                                  "password": "Pass-w0rd1"}).status_code == 201
        assert client.post(f"{base}/projects/ssehooks/members", json={
            "role_id": 3, "member_user": {"username": "sse-later"}}).status_code == 201
        last = client.get(f"{base}/events", params={"project": "ssehooks", "limit": 1000}).json()[-1]
        stream = f"{base}/events/stream"
        for who in ("guest", "outsider"):
            text = _stream_until(client, stream, (users[who][0], "Pass-w0rd1"), last["position"])
            assert f"id: {last['position']}" in text  # read up to the newest event of the project
            assert "hooks.slack.com" not in text and "io.tidemark.webhook." not in text
        text = _stream_until(client, stream, (users["maintainer"][0], "Pass-w0rd1"), last["position"])
        assert slack in text and "io.tidemark.webhook.policy_created.v1" in text


def test_a_stream_from_now_without_event_names_gets_only_what_comes_after(registry, skopeo, repo, tmp_path):
    """What the portal subscribes with: `after=now` (no replay of the past) and `named=false`
    (plain messages, so a browser's EventSource.onmessage sees every type)."""
    if registry.target != "tidemark":
        pytest.skip("the event stream is Tidemark's")
    import threading

    from tests.e2e import oci_images

    base = f"http://{registry.host}/api/v2.0"
    image = oci_images.build_image(tmp_path / "img", tag="v1", seed=13)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(repo, "v1"))  # the past
    with httpx.Client(auth=("admin", ADMIN_PASSWORD), timeout=30) as client:
        head = client.get(f"{base}/events", params={"limit": 10000}).json()[-1]["position"]
        lines: list[str] = []
        with client.stream("GET", f"{base}/events/stream", params={"after": "now", "named": "false"}) as stream:
            threading.Timer(0.5, lambda: client.post(f"{base}/projects", json={
                "project_name": f"later{head}"})).start()
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data:"):
                    break
    ids = [int(line[3:].strip()) for line in lines if line.startswith("id:")]
    assert ids and ids[0] > head
    assert not any(line.startswith("event:") for line in lines)
    assert f"later{head}" in lines[-1]
