"""The identity-and-access test classes in one place, for test_iam_rest.py, which runs a
selection of them again on PostgreSQL.

The user tests live in three modules by theme; TestUsers here joins their classes again,
so that a selection may pick from all of them. This module's name does not start with
test_, so pytest does not collect the classes here a second time.
"""

from tests.integration import test_iam_user_admin, test_iam_user_passwords, test_iam_users
from tests.integration.test_iam_members import TestMembers
from tests.integration.test_iam_projects import TestProjects
from tests.integration.test_iam_robots import TestRobots
from tests.integration.test_iam_tokens import TestTokenService

__all__ = ["TestMembers", "TestProjects", "TestRobots", "TestTokenService", "TestUsers"]


class TestUsers(test_iam_users.TestUsers, test_iam_user_passwords.TestUserPasswords,
                test_iam_user_admin.TestUserAdministration):
    """Every user test: accounts, passwords and administration."""
