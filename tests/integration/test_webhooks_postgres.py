"""The main webhook flows on PostgreSQL."""

import pytest

from tests.integration.webhook_flows import WebhookFlows

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


class TestWebhooksOnPostgres(WebhookFlows):
    pass
