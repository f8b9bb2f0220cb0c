"""What a group's project role lets its users do (ADR 0041): a user's rights are the union of
their own role and their groups' roles, in the token service, the REST guard, project lists and
Harbor's `current_user_role_id(s)`. A user's groups are recorded at sign-in by
`GroupCommands.record_sign_in_groups` (the LDAP and OIDC sign-ins call it)."""

import pytest

from commands.iam.groups import RecordSignInGroups
from domain.base import Actor
from domain.errors import NotFound
from domain.iam.groups_of_user import GroupsOfUser
from domain.iam.user_group import LDAP_GROUP, OIDC_GROUP
from tests.integration.iam_helpers import API, IamTests, add_member, as_user, create_project, create_user, token_for
from tests.integration.test_iam_tokens import bearer, granted
from tests.integration.test_user_groups import add_group, all_groups, create_group

SIGN_IN = Actor(name="system", client_ip="198.51.100.7", request_id="sign-in")


@pytest.fixture
def backend():
    return "sqlite"


def signed_in(registry, username: str, groups: list[tuple[str, str]], group_type: int = OIDC_GROUP):
    """What the OIDC (or LDAP) sign-in does once it knows the user's groups."""
    outcome = registry.groups.record_sign_in_groups(RecordSignInGroups(username, group_type, groups, SIGN_IN))
    registry.catch_up_reads()
    return outcome


def may_push(http, username: str, repository: str = "alpha/app") -> bool:
    """Ask the token service for pull and push as a Docker client does, then start an upload."""
    response = token_for(http, f"repository:{repository}:pull,push", headers=as_user(username))
    actions = {a for grant in granted(response) for a in grant["actions"]}
    upload = http.post(f"/v2/{repository}/blobs/uploads/", headers=bearer(response.json()["token"]))
    assert ("push" in actions) == (upload.status_code == 202), upload.text
    return upload.status_code == 202


def may_pull(http, username: str, repository: str = "alpha/app") -> bool:
    token = token_for(http, f"repository:{repository}:pull", headers=as_user(username)).json()["token"]
    return http.get(f"/v2/{repository}/manifests/v1", headers=bearer(token)).status_code == 200


class TestGroupPermissions(IamTests):
    @pytest.fixture
    def world(self, http, oci):
        """Private `alpha` holding app:v1, where group `devs` (OIDC) is developer and `viewers`
        guest; dave and carol are members of nothing themselves."""
        for name in ("dave", "carol", "erin"):
            create_user(http, name)
        create_project(http, "alpha")
        oci.push_image("alpha/app", "v1", layers=1)
        groups = {name: create_group(http, name, OIDC_GROUP) for name in ("devs", "viewers")}
        groups["devs_member"] = add_group(http, "alpha", {"id": groups["devs"]}, 2)
        groups["viewers_member"] = add_group(http, "alpha", {"id": groups["viewers"]}, 3)
        return groups

    def test_a_user_gains_the_developer_role_through_a_group(self, http, registry, world):
        # given: dave may do nothing in alpha
        assert not may_pull(http, "dave")
        assert http.get(f"{API}/projects/alpha", headers=as_user("dave")).status_code == 403
        assert "alpha" not in [p["name"] for p in http.get(f"{API}/projects", headers=as_user("dave")).json()]
        # when: his sign-in says he is in devs
        signed_in(registry, "dave", [("devs", "")])
        # then
        assert may_push(http, "dave")
        project = http.get(f"{API}/projects/alpha", headers=as_user("dave")).json()
        assert (project["current_user_role_id"], project["current_user_role_ids"]) == (2, [2])
        assert "alpha" in [p["name"] for p in http.get(f"{API}/projects", headers=as_user("dave")).json()]
        assert http.get(f"{API}/projects/alpha/members", headers=as_user("dave")).status_code == 200
        assert http.get(f"{API}/projects/alpha/repositories", headers=as_user("dave")).status_code == 200
        # a developer may not manage members
        assert http.post(f"{API}/projects/alpha/members", headers=as_user("dave"),
                         json={"role_id": 1, "member_user": {"username": "erin"}}).status_code == 403

    def test_a_guest_group_pulls_and_cannot_push(self, http, registry, world):
        signed_in(registry, "carol", [("viewers", "")])
        assert may_pull(http, "carol")
        assert not may_push(http, "carol")
        assert http.delete(f"{API}/projects/alpha/repositories/app", headers=as_user("carol")).status_code == 403

    def test_removing_the_groups_membership_ends_the_role(self, http, registry, world):
        signed_in(registry, "dave", [("devs", "")])
        assert may_push(http, "dave")
        assert http.delete(f"{API}/projects/alpha/members/{world['devs_member']}").status_code == 200
        assert not may_pull(http, "dave")
        assert http.get(f"{API}/projects/alpha", headers=as_user("dave")).status_code == 403

    def test_a_lower_role_for_the_group_takes_push_away(self, http, registry, world):
        signed_in(registry, "dave", [("devs", "")])
        assert http.put(f"{API}/projects/alpha/members/{world['devs_member']}", json={"role_id": 3}).status_code == 200
        assert may_pull(http, "dave") and not may_push(http, "dave")

    def test_leaving_the_group_at_the_next_sign_in_ends_the_role(self, http, registry, world):
        signed_in(registry, "dave", [("devs", "")])
        assert may_push(http, "dave")
        signed_in(registry, "dave", [("viewers", "")])
        assert not may_push(http, "dave") and may_pull(http, "dave")
        signed_in(registry, "dave", [])
        assert not may_pull(http, "dave")

    def test_deleting_the_group_ends_the_role(self, http, registry, world):
        signed_in(registry, "dave", [("devs", "")])
        assert http.delete(f"{API}/usergroups/{world['devs']}").status_code == 200
        assert not may_pull(http, "dave")
        # a group of the same name onboarded later is a new group, with no membership in alpha
        signed_in(registry, "dave", [("devs", "")])
        assert not may_pull(http, "dave")

    def test_rights_are_the_union_of_own_and_group_roles(self, http, registry, world):
        add_member(http, "alpha", "erin", 5)  # limited guest herself
        signed_in(registry, "erin", [("viewers", ""), ("devs", "")])
        project = http.get(f"{API}/projects/alpha", headers=as_user("erin")).json()
        assert (project["current_user_role_id"], project["current_user_role_ids"]) == (2, [2, 3, 5])
        assert may_push(http, "erin")
        # her own limited-guest role alone does not list members; the groups' roles do
        assert http.get(f"{API}/projects/alpha/members", headers=as_user("erin")).status_code == 200
        signed_in(registry, "erin", [])
        assert http.get(f"{API}/projects/alpha/members", headers=as_user("erin")).status_code == 403
        assert may_pull(http, "erin") and not may_push(http, "erin")

    def test_a_group_role_in_one_project_gives_nothing_in_another(self, http, registry, oci, world):
        create_project(http, "beta")
        oci.push_image("beta/app", "v1", layers=1)
        signed_in(registry, "dave", [("devs", "")])
        assert not may_pull(http, "dave", "beta/app")
        assert http.get(f"{API}/projects/beta", headers=as_user("dave")).status_code == 403

    def test_sign_in_onboards_unknown_groups_and_records_only_changes(self, http, registry, world):
        first = signed_in(registry, "dave", [("devs", ""), ("newcomers", ""), ("bad\x00name", "")])
        names = {g["group_name"]: g["id"] for g in all_groups(http)}
        assert set(names) == {"devs", "viewers", "newcomers"}  # the bad name is skipped
        assert first.group_ids == sorted([names["devs"], names["newcomers"]])
        again = signed_in(registry, "dave", [("newcomers", ""), ("devs", "")])
        assert again.position is None and again.group_ids == first.group_ids
        record = registry.app.repository.get(GroupsOfUser.start("dave", SIGN_IN).id)
        changes = [e for e in registry.app.repository.event_store.get(record.id)
                   if isinstance(e, GroupsOfUser.Changed)]
        assert [(e.group_ids, e.previous, e.client_ip) for e in changes] == [(first.group_ids, [], "198.51.100.7")]

    def test_ldap_groups_are_onboarded_by_dn(self, http, registry, world):
        create_group(http, "ops", LDAP_GROUP, dn="cn=ops,ou=groups,dc=example,dc=com")
        outcome = signed_in(registry, "dave", [("ops", "CN=Ops,OU=Groups,DC=example,DC=com"),
                                               ("ops", "cn=ops,ou=other,dc=example,dc=com"),
                                               ("nodn", "")], LDAP_GROUP)
        ldap = {g["ldap_group_dn"]: g for g in all_groups(http) if g["group_type"] == LDAP_GROUP}
        assert set(ldap) == {"cn=ops,ou=groups,dc=example,dc=com", "cn=ops,ou=other,dc=example,dc=com"}
        # the second `ops` takes its DN as name (Harbor's rule); the one without a DN is skipped
        assert ldap["cn=ops,ou=other,dc=example,dc=com"]["group_name"] == "cn=ops,ou=other,dc=example,dc=com"
        assert outcome.group_ids == sorted(g["id"] for g in ldap.values())

    def test_recording_groups_of_an_unknown_user_is_refused(self, registry, world):
        with pytest.raises(NotFound):
            signed_in(registry, "nobody", [("devs", "")])


@pytest.mark.postgres
class TestGroupPermissionsOnPostgres(TestGroupPermissions):
    """The same on PostgreSQL, where the view caches are off and every check reads the database."""

    @pytest.fixture
    def backend(self):
        return "postgres"


class TestGroupAttacks(IamTests):
    def test_a_group_role_ends_with_its_project_and_does_not_pass_to_a_new_one_of_that_name(self, http, registry):
        create_user(http, "dave")
        create_project(http, "gamma")
        devs = create_group(http, "devs", OIDC_GROUP)
        add_group(http, "gamma", {"id": devs}, 1)
        signed_in(registry, "dave", [("devs", "")])
        assert http.get(f"{API}/projects/gamma", headers=as_user("dave")).status_code == 200
        assert http.delete(f"{API}/projects/gamma").status_code == 200
        create_project(http, "gamma")
        assert http.get(f"{API}/projects/gamma", headers=as_user("dave")).status_code == 403
        assert [m["entity_type"] for m in http.get(f"{API}/projects/gamma/members").json()] == ["u"]

    @pytest.mark.parametrize("path", ["/usergroups/99999999999999999999999", "/usergroups/9223372036854775808"])
    def test_ids_beyond_int64_are_refused_not_crashed(self, http, path):
        assert http.get(API + path).status_code in (400, 404)
        assert http.delete(API + path).status_code in (400, 404)

    def test_huge_member_group_id_is_refused(self, http):
        create_project(http, "gamma")
        response = http.post(f"{API}/projects/gamma/members",
                             json={"role_id": 2, "member_group": {"id": 9223372036854775808}})
        assert response.status_code in (400, 404), response.text
