"""Fuzzing the OCI routes (/v2/) and the event feed's positions: no input answers 5xx.

The OCI surface is not in the OpenAPI document (its contract is the distribution spec), so
hypothesis builds its requests here: names, references, digests, upload ids, `n`/`last`
and the other query parameters, Range, Content-Range, Tidemark-As-Of, Authorization and
Content-Type headers as raw latin-1 bytes, and bodies (random bytes, manifests with nasty
numbers, JSON nested deeper than any parser's stack). Derandomized, no example database:
a failure reproduces on the next run."""

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.fuzz_app import ADMIN, REPOSITORY, RawCaller, fuzz_app
from tests.integration.fuzz_values import HUGE, NASTY_JSON, NASTY_TEXT, deep_json

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    with fuzz_app(tmp_path_factory.mktemp("fuzz-oci") / "data") as (app, seed):
        with RawCaller(app) as call:
            yield call, seed


def latin1(max_size: int = 40):
    return st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=max_size)


def _segment(value: str) -> str:
    return value.replace("?", "%3F").replace("#", "%23") or "x"


NASTY_RANGE = st.builds(lambda a, b: f"bytes={a}-{b}", NASTY_TEXT | st.integers(0, 300),
                        NASTY_TEXT | st.integers(0, 300) | st.just("")) | latin1()
NASTY_CONTENT_RANGE = st.builds(lambda a, b: f"{a}-{b}", NASTY_TEXT | st.integers(0, 10),
                                NASTY_TEXT | st.integers(0, 10)) | latin1()
NASTY_AUTH = st.builds(lambda scheme, value: scheme + value,
                       st.sampled_from(["Basic ", "Bearer ", "basic ", ""]), NASTY_TEXT | latin1())
DEPTHS = st.sampled_from([65, 1000, 5000]) | st.integers(60, 3000)
ANY_METHOD = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]
METHODS = {"base": ["GET"], "catalog": ["GET"], "tags": ["GET"], "referrers": ["GET"],
           "manifest": ["GET", "HEAD", "PUT", "PUT", "DELETE"], "blob": ["GET", "HEAD", "DELETE"],
           "uploads": ["POST"], "upload": ["GET", "PATCH", "PATCH", "PUT", "PUT", "DELETE"],
           "unknown": ANY_METHOD}
ROUTES = list(METHODS)
# Which inputs each route reads (beyond Authorization), so a corrupted one is looked at.
INPUTS = {
    "base": [], "catalog": ["n", "last"], "tags": ["name", "n", "last"],
    "manifest": ["name", "reference", "as-of", "content-type", "body", "body"],
    "blob": ["name", "digest", "range"], "referrers": ["name", "digest", "artifactType"],
    "uploads": ["name", "digest-query", "mount", "from", "body"],
    "upload": ["name", "upload", "digest-query", "content-range", "body"], "unknown": ["name"],
}


@st.composite
def oci_requests(draw, seed):
    """(method, raw path, query, headers, body): a plausible request to one OCI route with
    one or two of its inputs swapped for a nasty value."""
    route = draw(st.sampled_from(ROUTES))
    method = draw(st.sampled_from(METHODS[route]) if draw(st.integers(0, 9)) else st.sampled_from(ANY_METHOD))
    inputs = {"name": REPOSITORY, "reference": "v1", "digest": seed.layer, "upload": "SESSION",
              "authorization": ADMIN}
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    body = _manifest(seed) if route == "manifest" else b"x" * 10
    for slot in draw(st.lists(st.sampled_from(INPUTS[route] + ["authorization"]), min_size=1,
                              max_size=2)):
        if slot in ("name", "reference", "digest", "upload"):
            inputs[slot] = draw(NASTY_TEXT | latin1())
        elif slot in ("n", "last", "mount", "from", "artifactType"):
            query[slot] = draw(NASTY_TEXT | latin1())
        elif slot == "digest-query":
            query["digest"] = draw(NASTY_TEXT | latin1())
        elif slot == "authorization":
            inputs["authorization"] = draw(st.just(ADMIN) | NASTY_AUTH)
        elif slot == "range":
            headers["range"] = draw(NASTY_RANGE)
        elif slot == "content-range":
            headers["content-range"] = draw(NASTY_CONTENT_RANGE)
        elif slot == "as-of":
            headers["tidemark-as-of"] = draw(NASTY_TEXT | latin1())
        elif slot == "content-type":
            headers["content-type"] = draw(latin1())
        elif slot == "body":
            body = draw(st.one_of(
                st.binary(max_size=300),
                st.builds(_manifest, st.just(seed), st.sampled_from(["size", "digest", "schemaVersion",
                                                                      "platform"]), NASTY_JSON),
                DEPTHS.map(lambda depth: _manifest(seed, "platform", None, depth)),
                DEPTHS.map(deep_json)))
    if route == "manifest":
        headers.setdefault("content-type", OCI_MANIFEST)
    if route in ("upload", "uploads") and "digest" not in query and draw(st.booleans()):
        query["digest"] = seed.layer
    name, reference, digest = (_segment(inputs[key]) for key in ("name", "reference", "digest"))
    path = {
        "base": "/v2/", "catalog": "/v2/_catalog", "tags": f"/v2/{name}/tags/list",
        "manifest": f"/v2/{name}/manifests/{reference}", "blob": f"/v2/{name}/blobs/{digest}",
        "uploads": f"/v2/{name}/blobs/uploads/",
        "upload": f"/v2/{name}/blobs/uploads/{_segment(inputs['upload'])}",
        "referrers": f"/v2/{name}/referrers/{digest}", "unknown": f"/v2/{name}",
    }[route]
    return method, path, query, [("authorization", inputs["authorization"]), *headers.items()], body


def _manifest(seed, field: str | None = None, value=None, depth: int = 0) -> bytes:
    """The seed image's manifest, with one field replaced by `value` or by an object nested
    `depth` levels deep."""
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": seed.layer,
             "size": 108}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": seed.config, "size": 64}, "layers": [layer]}
    if field == "schemaVersion":
        manifest["schemaVersion"] = value
    elif field:
        layer[field] = "DEEP" if depth else value
    text = json.dumps(manifest).encode()
    return text.replace(b'"DEEP"', deep_json(depth, b"{")) if depth else text


def _encode_query(query: dict) -> bytes:
    from urllib.parse import quote

    return "&".join(f"{key}={quote(str(value), safe='')}" for key, value in query.items()).encode()


def _raw(text: str) -> bytes:
    return text.encode("latin-1", "replace")


def test_no_oci_request_answers_a_server_error(fuzzed):
    call, seed = fuzzed
    failures: list[str] = []

    @given(request=oci_requests(seed))
    @settings(max_examples=400, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def attack(request) -> None:
        method, path, query, headers, body = request
        if "SESSION" in path:  # a fresh upload session, so earlier examples did not end it
            _, _, started = call("POST", f"/v2/{REPOSITORY}/blobs/uploads/".encode(), b"",
                                 [(b"authorization", ADMIN.encode())], b"", with_headers=True)
            path = path.replace("SESSION", started.get(b"docker-upload-uuid", b"none").decode())
        status, answer = call(method, _raw(path), _encode_query(query),
                              [(_raw(k), _raw(v)) for k, v in headers], body)
        found = (f"{status} {method} {path!r} q={query!r} h={headers[1:]!r} "
                 f"body={body[:60]!r}: {answer[:120]!r}")
        if status >= 500 and len(failures) < 20 and found not in failures:
            failures.append(found)

    attack()
    assert not failures, "\n".join(failures)


def test_no_event_feed_position_answers_a_server_error(fuzzed):
    call, _ = fuzzed
    failures: list[str] = []
    positions = NASTY_TEXT | HUGE.map(str) | latin1() | st.integers(0, 50).map(str)

    @given(path=st.sampled_from(["/api/v2.0/events", "/api/v2.0/events/stream"]),
           after=st.none() | positions, last_event_id=st.none() | positions,
           limit=st.none() | positions)
    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def attack(path, after, last_event_id, limit) -> None:
        query = {key: value for key, value in (("after", after), ("limit", limit)) if value is not None}
        headers = [(b"authorization", ADMIN.encode())]
        if last_event_id is not None:
            headers.append((b"last-event-id", _raw(last_event_id)))
        status, answer = call("GET", path.encode(), _encode_query(query), headers)
        if status >= 500 and len(failures) < 10:
            failures.append(f"{status} {path} q={query!r} last-event-id={last_event_id!r}: {answer[:120]!r}")

    attack()
    assert not failures, "\n".join(failures)
