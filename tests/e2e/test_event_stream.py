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
