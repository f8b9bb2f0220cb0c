"""The portal's page and files (read_api/portal): served with a strict policy, only the files
meant to be served, never a path a request makes up."""

import base64
import hashlib
import re

import pytest

from read_api.portal import IMPORT_MAP


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


def test_the_page_carries_a_strict_policy_whose_hash_is_the_import_maps(http):
    page = http.get("/", headers={"authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page.text, re.S)
    assert inline == [IMPORT_MAP]  # the one inline script, allowed by its hash and nothing else
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_the_portal_modules_and_the_npm_files_are_served_as_javascript(http):
    for path in ("/portal/app.js", "/portal/api.js", "/portal/vendor/preact.js", "/portal/vendor/hooks.js",
                 "/portal/vendor/htm.js"):
        answer = http.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/javascript; charset=utf-8", path
    assert http.get("/portal/style.css").headers["content-type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize("path", [
    "/portal/__init__.py", "/portal/package.json", "/portal/..%2F__init__.py", "/portal/.hidden.js",
    "/portal/vendor/../../__init__.py", "/portal/vendor/preact.module.js", "/portal/vendor/..%2Fpackage.json",
    "/portal/nothing.js", "/portal/static%2Fapp.js",
])
def test_nothing_else_is_served(http, path):
    answer = http.get(path)
    assert answer.status_code == 404, (path, answer.text[:200])
    assert "errors" in answer.json()
