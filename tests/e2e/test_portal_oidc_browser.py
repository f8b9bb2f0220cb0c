"""The portal's OIDC sign-in in a real browser (issue 17: "add the sign-in screens to the
portal"): Debian's chromium clicks "Sign in with <provider>", signs in at a real OpenID provider
(oidc-provider-mock's own form), and comes back signed in as the onboarded user; the password
form keeps working for the admin beside it."""

import os

import httpx
import pytest

from tests import processes
from tests.e2e.conftest import ADMIN_PASSWORD, start_tidemark
from tests.integration.oidc_server import oidc_provider
from tests.integration.servers import free_port

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"


def test_sign_in_with_the_provider_from_the_portal(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (scripts/test-deps.sh installs it)")
    port = free_port()
    with oidc_provider() as provider:
        server = start_tidemark(tmp_path, port, tmp_path / "data", TIDEMARK_BUILTIN_SCANNER="off",
                                TIDEMARK_EXTERNAL_URL=f"http://127.0.0.1:{port}")
        try:
            with httpx.Client(base_url=f"http://{server.host}/api/v2.0", auth=("admin", ADMIN_PASSWORD)) as api:
                configured = api.put("/configurations", json={
                    "auth_mode": "oidc_auth", "oidc_name": "Example ID", "oidc_endpoint": provider.url,
                    "oidc_client_id": "tidemark", "oidc_client_secret": "Client-Secret-4-tidemark",
                    "oidc_scope": "openid,profile,email", "oidc_user_claim": "preferred_username",
                    "oidc_auto_onboard": True, "oidc_verify_cert": False})
                assert configured.status_code == 200, configured.text
            provider.set_user("sub-webby", preferred_username="webby", email="webby@example.com")
            with playwright_api.sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                page = browser.new_page()
                errors = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"http://{server.host}/")
                page.get_by_role("link", name="Sign in with Example ID").click()
                page.wait_for_url(f"{provider.url}/**", wait_until="commit")
                page.locator("input[name=sub]").fill("sub-webby")
                page.get_by_role("button", name="Authorize").click()
                page.get_by_role("heading", name="Projects").wait_for(timeout=20000)
                assert page.url.startswith(f"http://{server.host}/")
                assert "webby" in page.content()  # the signed-in user the portal names
                me = page.evaluate("""async () => (await (await fetch('/api/v2.0/users/current',
                                        {headers: {'X-Requested-With': 'XMLHttpRequest'}})).json()).username""")
                assert me == "webby"
                page.screenshot(path=str(tmp_path / "oidc-signed-in.png"), full_page=True)
                # the admin signs in with a password beside the provider, in a fresh browser context
                other = browser.new_context().new_page()
                other.goto(f"http://{server.host}/")
                other.get_by_label("Username").fill("admin")
                other.get_by_label("Password").fill(ADMIN_PASSWORD)
                other.get_by_role("button", name="Sign in").click()
                other.get_by_role("heading", name="Projects").wait_for()
                browser.close()
                assert errors == []
        finally:
            processes.stop(server.process)
