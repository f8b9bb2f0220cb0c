"""skopeo with directory credentials (ADR 0042): a Tidemark server of the test's own in
`ldap_auth` mode against a real slapd; an LDAP user made a project member logs in with
`skopeo login`, pushes and pulls through the token service, and a wrong password is refused."""

import httpx
import pytest

from tests.e2e import oci_images
from tests.e2e.conftest import ADMIN_PASSWORD, Skopeo, _free_port, _stop, start_tidemark
from tests.ldap_server import USERS, ldap_directory

pytestmark = pytest.mark.e2e


def test_an_ldap_user_logs_in_pushes_and_pulls_with_skopeo(tmp_path):
    with ldap_directory(tmp_path) as directory:
        server = start_tidemark(tmp_path, _free_port(), tmp_path / "data")
        try:
            with httpx.Client(base_url=f"http://{server.host}/api/v2.0", auth=("admin", ADMIN_PASSWORD),
                              timeout=60) as api:
                # given the directory is the sign-in mode, and bob (imported) develops in a project
                assert api.put("/configurations", json=directory.settings(auth_mode="ldap_auth")).status_code == 200
                assert api.post("/ldap/users/import", json={"ldap_uid_list": ["bob"]}).status_code == 200
                assert api.post("/projects", json={"project_name": "team", "metadata": {"public": "false"}}
                                ).status_code == 201
                assert api.post("/projects/team/members", json={"role_id": 2, "member_user": {"username": "bob"}}
                                ).status_code == 201
            image = oci_images.build_image(tmp_path / "image", tag="v1", seed=4242)
            (tmp_path / "skopeo").mkdir()
            skopeo = Skopeo(tmp_path / "skopeo", server)
            # when bob logs in with a wrong password, then with his directory password
            assert skopeo.login("bob", "Not-Bobs-Passw0rd", check=False).returncode != 0
            assert skopeo.login("bob", USERS["bob"][0]).returncode == 0
            # then he pushes and pulls with the stored login, through the token service
            skopeo.copy(f"oci:{image.layout_dir}:v1", server.ref("team/app", "v1"))
            pulled = skopeo.inspect(server.ref("team/app", "v1"))
            assert image.manifest_digest in pulled.stdout
            # and alice, in the directory but no member, may not push there
            (tmp_path / "alice").mkdir()
            alice = Skopeo(tmp_path / "alice", server)
            assert alice.login("alice", USERS["alice"][0]).returncode == 0
            refused = alice.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                                f"oci:{image.layout_dir}:v1", server.ref("team/app", "v2"), check=False)
            assert refused.returncode != 0
        finally:
            _stop(server.process)
