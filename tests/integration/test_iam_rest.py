"""The identity-and-access REST tests again, on PostgreSQL.

The tests live in the test_iam_*.py modules (on SQLite; iam_suites.py gathers
their classes). Here a selection of them runs once more
with the query models, credentials and token signing key in PostgreSQL, where
the in-process view caches are off and every read goes to the database. Each
PostgreSQL test pays for a fresh schema (~0.4 s), so the selection keeps the
tests that touch storage and leaves out pure input validation.
"""

import pytest

from tests.integration import iam_suites as suites

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def only(*names: str):
    """Class decorator: of the inherited tests, keep just these (pytest collects no None)."""
    def keep(cls):
        inherited = {name for name in dir(cls) if name.startswith("test_")}
        assert set(names) <= inherited, set(names) - inherited
        for name in inherited - set(names):
            setattr(cls, name, None)
        return cls
    return keep


@only("test_admin_creates_a_user_and_reads_it_back_in_harbor_shape",
      "test_duplicate_username_conflicts",
      "test_admin_lists_users_with_paging_headers",
      "test_new_password_works_after_a_change",
      "test_granted_sysadmin_may_list_users",
      "test_disabled_user_is_refused_at_once",
      "test_deleted_user_is_gone_and_cannot_sign_in",
      "test_user_updates_own_profile_but_not_anothers")
class TestUsersOnPostgres(suites.TestUsers):
    pass


@only("test_user_creates_a_project_and_becomes_its_project_admin",
      "test_project_is_found_by_id_too",
      "test_metadata_public_toggles_visibility",
      "test_non_members_list_only_public_projects",
      "test_head_tells_whether_a_project_name_is_taken",
      "test_project_with_repositories_cannot_be_deleted",
      "test_empty_project_is_deleted",
      "test_paged_project_list_has_total_and_links")
class TestProjectsOnPostgres(suites.TestProjects):
    pass


@only("test_add_member_by_username_as_developer",
      "test_add_member_by_user_id",
      "test_change_a_members_role",
      "test_remove_a_member",
      "test_a_guest_cannot_add_members")
class TestMembersOnPostgres(suites.TestMembers):
    pass


@only("test_project_robot_is_created_with_its_secret_shown_once",
      "test_robot_list_never_shows_secrets",
      "test_pull_robot_pulls_but_cannot_push",
      "test_refreshed_secret_works",
      "test_disabled_robot_is_refused",
      "test_robot_with_a_duration_expires_after_that_many_days",
      "test_deleted_robot_is_gone_and_refused")
class TestRobotsOnPostgres(suites.TestRobots):
    pass


@only("test_developer_gets_pull_and_push",
      "test_non_member_gets_nothing_on_private_or_unknown_repositories",
      "test_token_opens_the_repository_it_names",
      "test_tampered_signature_is_unauthorized",
      "test_expired_token_is_unauthorized",
      "test_token_of_a_disabled_user_stops_working")
class TestTokenServiceOnPostgres(suites.TestTokenService):
    pass
