"""What the keyless CI robot tests share (ADR 0045): a registry that may trust loopback http
issuers, two issuers served over HTTP (tests/integration/workload_issuer.py), a real provider
(oidc-provider-mock), and robot$p1+ci, which pulls and pushes in p1 and trusts one issuer's
tokens for org/app's branches. Test modules import the fixtures they use."""

import pytest
import msgspec

from tests.integration.iam_helpers import API, as_user, create_project, robot_body, token_for
from tests.integration.workload_issuer import workload_issuer

ROBOT = "robot$p1+ci"
PUSH_PULL = (("repository", "pull"), ("repository", "push"))


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def settings(settings):
    return msgspec.structs.replace(settings, workload_issuer_allow_http_loopback=True)


@pytest.fixture(scope="module")
def issuer():
    with workload_issuer() as server:
        yield server


@pytest.fixture(scope="module")
def stranger():
    """Another issuer nobody trusts."""
    with workload_issuer() as server:
        yield server


def policy(server, **overrides) -> dict:
    return {"issuer": server.url, "audience": "tidemark", "subject": "repo:org/app:ref:refs/heads/*",
            "claims": {"repository_owner": "org"}, **overrides}


@pytest.fixture
def robot(http, oci, issuer) -> dict:
    """p1 (private) with an image, p2 with one; robot$p1+ci may pull and push in p1 and trusts
    the issuer's tokens for org/app's branches."""
    for project in ("p1", "p2"):
        create_project(http, project)
        oci.push_image(f"{project}/app", "v1", layers=1)
    body = http.post(f"{API}/robots", json=robot_body("p1", access=PUSH_PULL)).json()
    answer = http.put(f"{API}/robots/{body['id']}/trust", json={"policies": [policy(issuer)]})
    assert answer.status_code == 200, answer.text
    return body


def exchange(http, id_token: str, scope="repository:p1/app:pull,push", name=ROBOT):
    return token_for(http, scope, headers=as_user(name, id_token))


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def provider():
    from tests.integration.oidc_server import oidc_provider

    with oidc_provider() as server:
        yield server


def provider_id_token(provider, sub: str, audience: str) -> str:
    """An ID token as a real provider issues it: the code flow, with the audience as client id
    (oidc-provider-mock takes any client), for a subject whose claims `set_user` chose."""
    import httpx

    callback = "http://ci.test/callback"
    location = provider.authorize(f"{provider.url}/oauth2/authorize?client_id={audience}&response_type=code"
                                  f"&scope=openid&redirect_uri={callback}&state=s", sub)
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    answer = httpx.post(f"{provider.url}/oauth2/token", auth=(audience, "any"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback})
    assert answer.status_code == 200, answer.text
    return answer.json()["id_token"]
