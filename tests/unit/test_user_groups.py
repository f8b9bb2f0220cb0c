"""User groups in the domain and their command handlers, on the in-memory store (ADR 0041)."""

import pytest

from commands.application import RegistryApplication
from commands.iam.groups import (
    AddGroupMember, CreateUserGroup, DeleteUserGroup, GroupCommands, GroupRef, RecordSignInGroups,
    RemoveGroupMember, RenameUserGroup,
)
from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound
from domain.iam.access import Principal, allows, oci_actions
from domain.iam.groups_of_user import GroupsOfUser
from domain.iam.roles import DEVELOPER, GUEST, LIMITED_GUEST, MAINTAINER, PROJECT_ADMIN, highest_role
from domain.iam.user import User
from domain.iam.user_group import HTTP_GROUP, LDAP_GROUP, OIDC_GROUP, UserGroups
from domain.project import Project

ADMIN = Actor(name="admin")


@pytest.fixture
def app():
    app = RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(User.create("dave", "dave@example.com", "", "", False, ADMIN))
    app.save(Project.create("alpha", False, ADMIN))
    return app


@pytest.fixture
def groups(app):
    return GroupCommands(app)


def test_group_ids_count_up_and_are_never_given_again():
    directory = UserGroups.start(ADMIN)
    first = directory.create_group("devs", HTTP_GROUP, None, ADMIN)
    second = directory.create_group("ops", LDAP_GROUP, "CN=Ops,DC=example,DC=com", ADMIN)
    directory.delete_group(second, ADMIN)
    assert (first, second, directory.create_group("ops", LDAP_GROUP, "cn=ops,dc=example,dc=com", ADMIN)) == (1, 2, 3)


def test_names_are_unique_within_a_type_and_dns_among_ldap_groups():
    directory = UserGroups.start(ADMIN)
    directory.create_group("devs", HTTP_GROUP, "", ADMIN)
    directory.create_group("devs", OIDC_GROUP, "", ADMIN)
    directory.create_group("ops", LDAP_GROUP, "cn=ops,dc=x", ADMIN)
    with pytest.raises(Conflict):
        directory.create_group("devs", HTTP_GROUP, "", ADMIN)
    with pytest.raises(Conflict):
        directory.create_group("other", LDAP_GROUP, " CN=OPS,DC=X ", ADMIN)


@pytest.mark.parametrize("name, group_type, dn", [
    ("", HTTP_GROUP, ""), (None, HTTP_GROUP, ""), ("x", 0, ""), ("x", True, ""), ("x", "1", ""),
    ("x", LDAP_GROUP, ""), ("x", LDAP_GROUP, "no-equals"), ("x", LDAP_GROUP, "cn=a,=b"),
    ("a\u200bb", HTTP_GROUP, ""), ("x" * 256, OIDC_GROUP, ""),
])
def test_bad_groups_are_refused(name, group_type, dn):
    directory = UserGroups.start(ADMIN)
    with pytest.raises(BadRequest):
        directory.create_group(name, group_type, dn, ADMIN)
    assert directory.groups == {}


def test_onboarding_finds_known_groups_and_names_an_ldap_clash_by_its_dn():
    directory = UserGroups.start(ADMIN)
    ops = directory.onboard(LDAP_GROUP, "ops", "cn=ops,ou=a,dc=x", ADMIN)
    assert directory.onboard(LDAP_GROUP, "renamed upstream", "CN=ops,OU=a,DC=x", ADMIN) == ops
    clash = directory.onboard(LDAP_GROUP, "ops", "cn=ops,ou=b,dc=x", ADMIN)
    assert directory.groups[clash] == ("cn=ops,ou=b,dc=x", LDAP_GROUP, "cn=ops,ou=b,dc=x")
    team = directory.onboard(OIDC_GROUP, "team", "", ADMIN)
    assert directory.onboard(OIDC_GROUP, "team", "ignored", ADMIN) == team


def test_a_rename_keeps_the_id_type_and_dn():
    directory = UserGroups.start(ADMIN)
    ops = directory.create_group("ops", LDAP_GROUP, "cn=ops,dc=x", ADMIN)
    directory.rename(ops, "operators", ADMIN)
    assert directory.groups[ops] == ("operators", LDAP_GROUP, "cn=ops,dc=x")
    with pytest.raises(NotFound):
        directory.rename(99, "x", ADMIN)


def test_a_users_groups_record_only_changes():
    record = GroupsOfUser.start("dave", ADMIN)
    assert record.record([3, 1, 3], ADMIN) is True
    assert record.record([1, 3], ADMIN) is False
    assert record.record([], ADMIN) is True
    changes = [e for e in record.collect_events() if isinstance(e, GroupsOfUser.Changed)]
    assert [(e.group_ids, e.previous) for e in changes] == [([1, 3], []), ([], [1, 3])]


def test_rights_are_the_union_of_own_and_group_roles():
    erin = Principal(kind="user", name="erin", roles={"alpha": LIMITED_GUEST}, group_roles={"alpha": [GUEST, DEVELOPER]})
    assert erin.project_roles("alpha") == [DEVELOPER, GUEST, LIMITED_GUEST]
    assert erin.project_role("alpha") == DEVELOPER
    assert allows(erin, "alpha", False, "member", "list")  # a guest's right, not a limited guest's
    assert oci_actions(erin, "alpha", False, {"pull", "push", "delete"}) == {"pull", "push"}
    assert erin.member_projects() == ["alpha"]
    assert not allows(erin, "beta", False, "repository", "pull")
    only_groups = Principal(kind="user", name="gus", group_roles={"beta": [GUEST]})
    assert only_groups.project_role("beta") == GUEST and only_groups.member_projects() == ["beta"]


def test_harbor_ranks_maintainer_above_developer():
    assert highest_role([DEVELOPER, MAINTAINER, GUEST]) == MAINTAINER
    assert highest_role([PROJECT_ADMIN, MAINTAINER]) == PROJECT_ADMIN
    assert highest_role([]) == 0


def test_deleting_a_group_removes_its_memberships_in_the_same_save(app, groups):
    devs = groups.create_group(CreateUserGroup("devs", HTTP_GROUP, None, ADMIN)).group_id
    groups.add_group_member(AddGroupMember("alpha", GroupRef(id=devs), DEVELOPER, ADMIN))
    head = app.recorder.max_notification_id()
    groups.delete_group(DeleteUserGroup(devs, ADMIN, ["alpha", "gone"]))
    assert app.recorder.max_notification_id() == head + 2
    project = app.repository.get(Project.create("alpha", False, ADMIN).id)
    assert project.group_members == {}


def test_member_group_by_name_onboards_only_http_and_oidc_groups(app, groups):
    groups.add_group_member(AddGroupMember("alpha", GroupRef(group_name="ci", group_type=OIDC_GROUP), GUEST, ADMIN))
    with pytest.raises(NotFound):
        groups.add_group_member(AddGroupMember("alpha", GroupRef(group_name="ops", group_type=LDAP_GROUP), GUEST, ADMIN))
    with pytest.raises(NotFound):
        groups.add_group_member(AddGroupMember("alpha", GroupRef(ldap_group_dn="cn=ops,dc=x"), GUEST, ADMIN))
    with pytest.raises(BadRequest):
        groups.add_group_member(AddGroupMember("alpha", GroupRef(), GUEST, ADMIN))
    with pytest.raises(Conflict):
        groups.add_group_member(AddGroupMember("alpha", GroupRef(group_name="ci"), DEVELOPER, ADMIN))
    with pytest.raises(NotFound):
        groups.remove_group_member(RemoveGroupMember("alpha", 42, ADMIN))


def test_recording_sign_in_groups_onboards_and_skips_the_unusable(app, groups):
    outcome = groups.record_sign_in_groups(RecordSignInGroups(
        "dave", LDAP_GROUP, [("ops", "cn=ops,dc=x"), ("no dn", ""), ("", "cn=anon,dc=x")], ADMIN))
    directory = app.repository.get(UserGroups.start(ADMIN).id)
    assert sorted(directory.groups.values()) == [("cn=anon,dc=x", LDAP_GROUP, "cn=anon,dc=x"),
                                                 ("ops", LDAP_GROUP, "cn=ops,dc=x")]
    assert outcome.group_ids == sorted(directory.groups)
    assert groups.record_sign_in_groups(RecordSignInGroups("dave", LDAP_GROUP, [("ops", "cn=ops,dc=x"),
                                                                               ("", "cn=anon,dc=x")], ADMIN)).position is None
    with pytest.raises(BadRequest):
        groups.record_sign_in_groups(RecordSignInGroups("dave", 7, [], ADMIN))


def test_renaming_to_a_taken_name_is_a_conflict(groups):
    groups.create_group(CreateUserGroup("a", HTTP_GROUP, None, ADMIN))
    b = groups.create_group(CreateUserGroup("b", HTTP_GROUP, None, ADMIN)).group_id
    with pytest.raises(Conflict):
        groups.rename_group(RenameUserGroup(b, "a", ADMIN))
