"""User groups through the Harbor v2.0 REST API (ADR 0041): `/usergroups` and groups as project
members. What a group's role lets its users do: test_group_permissions.py."""

import pytest

from tests.integration.iam_helpers import API, IamTests, add_member, anonymous, as_user, create_project, create_user, errors


@pytest.fixture
def backend():
    return "sqlite"


def create_group(http, name: str, group_type: int = 2, dn: str | None = None, headers=None) -> int:
    body = {"group_name": name, "group_type": group_type, **({"ldap_group_dn": dn} if dn else {})}
    response = http.post(f"{API}/usergroups", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"].startswith(f"{API}/usergroups/")
    return int(response.headers["location"].rsplit("/", 1)[1])


def add_group(http, project: str, group: dict, role: int, headers=None) -> int:
    response = http.post(f"{API}/projects/{project}/members", headers=headers,
                         json={"role_id": role, "member_group": group})
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def all_groups(http) -> list[dict]:
    response = http.get(f"{API}/usergroups", params={"page_size": 100})
    assert response.status_code == 200, response.text
    return response.json()


class TestUserGroups(IamTests):
    @pytest.fixture
    def people(self, http):
        """Private `alpha` administered by alice (a project admin, not a system admin); bob exists."""
        for name in ("alice", "bob"):
            create_user(http, name)
        create_project(http, "alpha", headers=as_user("alice"))

    def test_admin_creates_groups_and_reads_them_in_harbor_shape(self, http):
        devs = create_group(http, "devs", 2)
        ops = create_group(http, "ops", 1, dn=" CN=Ops,OU=Groups,DC=example,DC=com ")
        oidc = create_group(http, "devs", 3)  # the same name in another type is another group
        assert http.get(f"{API}/usergroups/{devs}").json() == \
            {"id": devs, "group_name": "devs", "group_type": 2, "ldap_group_dn": ""}
        assert http.get(f"{API}/usergroups/{ops}").json()["ldap_group_dn"] == "cn=ops,ou=groups,dc=example,dc=com"
        listed = http.get(f"{API}/usergroups", params={"page": 1, "page_size": 2})
        assert listed.headers["x-total-count"] == "3"
        assert [g["id"] for g in listed.json()] == [devs, ops]
        assert 'rel="next"' in listed.headers["link"]
        by_dn = http.get(f"{API}/usergroups", params={"ldap_group_dn": "cn=OPS,ou=groups,dc=example,dc=com"})
        assert [g["id"] for g in by_dn.json()] == [ops]
        by_name = http.get(f"{API}/usergroups", params={"group_name": "ev"})
        assert [g["id"] for g in by_name.json()] == [devs, oidc]

    def test_duplicates_are_refused_with_409(self, http):
        create_group(http, "devs", 2)
        create_group(http, "ops", 1, dn="cn=ops,dc=example,dc=com")
        for body in ({"group_name": "devs", "group_type": 2},
                     {"group_name": "other", "group_type": 1, "ldap_group_dn": "CN=ops,dc=example,dc=com"},
                     {"group_name": "ops", "group_type": 1, "ldap_group_dn": "cn=ops2,dc=example,dc=com"}):
            response = http.post(f"{API}/usergroups", json=body)
            assert response.status_code == 409, body
            assert errors(response) == ["CONFLICT"]
        assert len(all_groups(http)) == 2

    @pytest.mark.parametrize("body", [
        {"group_type": 2}, {"group_name": "", "group_type": 2}, {"group_name": "   ", "group_type": 2},
        {"group_name": "x"}, {"group_name": "x", "group_type": 0}, {"group_name": "x", "group_type": 4},
        {"group_name": "x", "group_type": True},
        {"group_name": "x", "group_type": 1}, {"group_name": "x", "group_type": 1, "ldap_group_dn": "ops"},
        {"group_name": "x", "group_type": 1, "ldap_group_dn": "=ops"},
        {"group_name": "a\u202eb", "group_type": 2}, {"group_name": "x" * 256, "group_type": 2},
        {"group_name": 7, "group_type": 2}, [], "devs", None,
    ])
    def test_bad_input_is_400_and_stores_nothing(self, http, body):
        response = http.post(f"{API}/usergroups", json=body)
        assert response.status_code == 400, response.text
        assert all_groups(http) == []

    def test_bad_ids_and_names_on_update_are_400(self, http):
        devs = create_group(http, "devs")
        for group_id in (0, -1):
            assert http.get(f"{API}/usergroups/{group_id}").status_code == 400
            assert http.delete(f"{API}/usergroups/{group_id}").status_code == 400
        assert http.get(f"{API}/usergroups/abc").status_code in (400, 404)
        assert http.put(f"{API}/usergroups/{devs}", json={}).status_code == 400
        assert http.put(f"{API}/usergroups/{devs}", json={"group_name": "a\nb"}).status_code == 400
        assert http.get(f"{API}/usergroups/{devs + 1}").status_code == 404
        assert http.put(f"{API}/usergroups/{devs + 1}", json={"group_name": "y"}).status_code == 404
        assert http.get(f"{API}/usergroups/{devs}").json()["group_name"] == "devs"

    def test_rename_changes_only_the_name(self, http):
        ops = create_group(http, "ops", 1, dn="cn=ops,dc=example,dc=com")
        create_group(http, "taken", 1, dn="cn=taken,dc=example,dc=com")
        response = http.put(f"{API}/usergroups/{ops}", json={"group_name": "operators", "group_type": 2,
                                                             "ldap_group_dn": "cn=other,dc=x"})
        assert response.status_code == 200, response.text
        assert http.get(f"{API}/usergroups/{ops}").json() == {
            "id": ops, "group_name": "operators", "group_type": 1, "ldap_group_dn": "cn=ops,dc=example,dc=com"}
        assert http.put(f"{API}/usergroups/{ops}", json={"group_name": "taken"}).status_code == 409

    def test_non_admins_are_refused_group_changes_and_nothing_is_stored(self, http, people):
        devs = create_group(http, "devs")
        head = http.app.state.registry.app.head()
        for headers in (as_user("alice"), as_user("bob")):
            assert http.post(f"{API}/usergroups", json={"group_name": "mine", "group_type": 2},
                             headers=headers).status_code == 403
            assert http.put(f"{API}/usergroups/{devs}", json={"group_name": "mine"},
                            headers=headers).status_code == 403
            assert http.delete(f"{API}/usergroups/{devs}", headers=headers).status_code == 403
            assert http.get(f"{API}/usergroups", headers=headers).status_code == 403
            assert http.get(f"{API}/usergroups/{devs}", headers=headers).status_code == 403
        assert anonymous(http, "POST", f"{API}/usergroups",
                         json={"group_name": "mine", "group_type": 2}).status_code == 401
        assert http.app.state.registry.app.head() == head
        assert [g["group_name"] for g in all_groups(http)] == ["devs"]

    def test_any_signed_in_user_searches_groups_by_name(self, http, people):
        devs = create_group(http, "devs")
        create_group(http, "ops")
        response = http.get(f"{API}/usergroups/search", params={"groupname": "dev"}, headers=as_user("bob"))
        assert response.status_code == 200
        assert response.json() == [{"id": devs, "group_name": "devs", "group_type": 2}]
        assert response.headers["x-total-count"] == "1"
        assert http.get(f"{API}/usergroups/search", headers=as_user("bob")).status_code == 400
        assert http.get(f"{API}/usergroups/search", params={"groupname": "%"}).json() == []
        assert anonymous(http, "GET", f"{API}/usergroups/search", params={"groupname": "d"}).status_code == 401

    def test_a_group_is_a_project_member_listed_with_entity_type_g(self, http, people):
        devs = create_group(http, "devs")
        mid = add_group(http, "alpha", {"id": devs}, 2, headers=as_user("alice"))
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        member = {"id": mid, "project_id": project_id, "entity_name": "devs", "role_name": "developer",
                  "role_id": 2, "entity_id": devs, "entity_type": "g"}
        assert http.get(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice")).json() == member
        listed = http.get(f"{API}/projects/alpha/members", headers=as_user("alice")).json()
        assert [(m["entity_name"], m["entity_type"]) for m in listed] == [("alice", "u"), ("devs", "g")]
        assert http.get(f"{API}/projects/alpha/members", params={"entityname": "dev"}).json() == [member]
        # then the role changes, and the membership goes
        assert http.put(f"{API}/projects/alpha/members/{mid}", json={"role_id": 3},
                        headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/projects/alpha/members/{mid}").json()["role_name"] == "guest"
        assert http.get(f"{API}/projects/alpha/summary").json()["guest_count"] == 1
        assert http.delete(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/projects/alpha/members/{mid}").status_code == 404
        assert http.get(f"{API}/usergroups/{devs}").status_code == 200  # the group itself stays

    def test_member_group_by_name_onboards_an_oidc_group_and_by_dn_finds_an_ldap_one(self, http, people):
        ops = create_group(http, "ops", 1, dn="cn=ops,dc=example,dc=com")
        add_group(http, "alpha", {"group_name": "ci-team", "group_type": 3}, 2, headers=as_user("alice"))
        add_group(http, "alpha", {"ldap_group_dn": "CN=ops,DC=example,DC=com"}, 3, headers=as_user("alice"))
        assert {(g["group_name"], g["group_type"]) for g in all_groups(http)} == {("ops", 1), ("ci-team", 3)}
        listed = http.get(f"{API}/projects/alpha/members").json()
        assert {(m["entity_name"], m["role_id"]) for m in listed if m["entity_type"] == "g"} == \
            {("ci-team", 2), ("ops", 3)}
        assert ops in {m["entity_id"] for m in listed}

    @pytest.mark.parametrize("group, role, status", [
        ({"id": 999}, 2, 404),
        ({"ldap_group_dn": "cn=nobody,dc=example,dc=com"}, 2, 404),
        ({"ldap_group_dn": "nobody"}, 2, 400),
        ({"group_name": "never-seen", "group_type": 1}, 2, 404),
        ({"group_name": "new-team", "group_type": 9}, 2, 400),
        ({"group_name": "new-team", "group_type": 3}, 9, 400),  # a bad role onboards nothing either
        ({}, 2, 400),
        ("devs", 2, 400),
    ])
    def test_bad_member_group_is_refused_and_stores_nothing(self, http, people, group, role, status):
        head = http.app.state.registry.app.head()
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": role, "member_group": group})
        assert response.status_code == status, response.text
        assert http.app.state.registry.app.head() == head
        assert all_groups(http) == []

    def test_a_group_is_a_member_once(self, http, people):
        devs = create_group(http, "devs")
        add_group(http, "alpha", {"id": devs}, 2)
        again = http.post(f"{API}/projects/alpha/members", json={"role_id": 3, "member_group": {"id": devs}})
        assert again.status_code == 409

    def test_member_ids_of_another_project_are_not_found_here(self, http, people):
        devs = create_group(http, "devs")
        create_project(http, "beta", headers=as_user("bob"))
        theirs = add_group(http, "beta", {"id": devs}, 2, headers=as_user("bob"))
        for call in (lambda: http.get(f"{API}/projects/alpha/members/{theirs}", headers=as_user("alice")),
                     lambda: http.put(f"{API}/projects/alpha/members/{theirs}", json={"role_id": 1},
                                      headers=as_user("alice")),
                     lambda: http.delete(f"{API}/projects/alpha/members/{theirs}", headers=as_user("alice"))):
            assert call().status_code == 404
        # and alice may not touch beta's members at all
        assert http.delete(f"{API}/projects/beta/members/{theirs}", headers=as_user("alice")).status_code == 403
        assert http.get(f"{API}/projects/beta/members/{theirs}", headers=as_user("bob")).json()["role_id"] == 2

    def test_deleting_a_group_ends_its_memberships(self, http, people):
        devs = create_group(http, "devs")
        create_project(http, "beta")
        add_group(http, "alpha", {"id": devs}, 2)
        add_group(http, "beta", {"id": devs}, 3)
        add_member(http, "beta", "bob", 2)
        assert http.delete(f"{API}/usergroups/{devs}").status_code == 200
        assert http.get(f"{API}/usergroups/{devs}").status_code == 404
        for project in ("alpha", "beta"):
            members = http.get(f"{API}/projects/{project}/members").json()
            assert [m["entity_type"] for m in members if m["entity_type"] == "g"] == []
        assert [m["entity_name"] for m in http.get(f"{API}/projects/beta/members").json()] == ["admin", "bob"]
        # and a new group never takes the deleted one's id
        assert create_group(http, "devs") > devs


KEPT_ON_POSTGRES = {"test_admin_creates_groups_and_reads_them_in_harbor_shape", "test_duplicates_are_refused_with_409",
                    "test_a_group_is_a_project_member_listed_with_entity_type_g",
                    "test_member_group_by_name_onboards_an_oidc_group_and_by_dn_finds_an_ldap_one",
                    "test_deleting_a_group_ends_its_memberships", "test_rename_changes_only_the_name"}


@pytest.mark.postgres
class TestUserGroupsOnPostgres(TestUserGroups):
    """The tests that touch storage, again on PostgreSQL (input validation is the same code)."""

    @pytest.fixture
    def backend(self):
        return "postgres"


for _name in {n for n in dir(TestUserGroups) if n.startswith("test_")} - KEPT_ON_POSTGRES:
    setattr(TestUserGroupsOnPostgres, _name, None)
