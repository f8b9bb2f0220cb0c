"""Wiring the storage policies into a registry: tag immutability rules, labels and tag
retention (commands, queries, views, the retention runner)."""

from commands.label_handlers import LabelCommands
from commands.policy_handlers import PolicyCommands
from commands.retention_handlers import RetentionCommands
from projections.label_view import LabelQueries, LabelView
from projections.policy_view import PolicyQueries, PolicyView
from projections.projector import Projector
from projections.retention_view import RetentionQueries, RetentionView
from workers.retention_runner import RetentionRunner


def attach_policies(registry) -> None:
    app, db = registry.app, registry.db
    registry.policy = PolicyCommands(app)
    registry.policies = PolicyQueries(db)
    registry.labels = LabelQueries(db)
    registry.label_commands = LabelCommands(app)
    registry.retention = RetentionQueries(db)
    registry.retention_commands = RetentionCommands(app)
    registry.projectors += [Projector(app, db, PolicyView()), Projector(app, db, LabelView()),
                            Projector(app, db, RetentionView())]
    registry.retention_runner = RetentionRunner(registry)
    registry.retention_scheduler = None  # started by `start` where the role runs workers
