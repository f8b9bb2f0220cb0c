"""Stored event topics across module moves.

A stored event names its class by topic, `module:QualName` (the eventsourcing library's
form). Events written before a module moved keep the topic they were written with, so
each move is listed here once: the old topics resolve to the moved classes (the library's
topic registration), code that compares topics compares their current form
(`canonical`), and a query by topic asks for every form a class was ever stored under
(`stored_topics`). tests/fixtures/log_2026_12 holds a log written before the first move.
"""

import importlib
import inspect
from functools import lru_cache
from types import ModuleType

from eventsourcing.utils import get_topic, register_topic, resolve_topic

# old module -> the module its classes are in now (issue 12's layout, 2026-12)
MOVED = {
    "domain.user": "domain.iam.user",
    "domain.robot": "domain.iam.robot",
    "domain.sign_ins": "domain.iam.sign_ins",
    "domain.retention": "domain.retention.policy",
    "domain.retention_run": "domain.retention.run",
    "domain.manifest": "domain.artifacts.manifest",
    "domain.tag": "domain.artifacts.tag",
    "domain.blob_link": "domain.artifacts.blob_link",
    "domain.upload": "domain.artifacts.upload",
    "domain.pulls": "domain.artifacts.pulls",
    "domain.repository_info": "domain.artifacts.repository_info",
    "domain.webhook": "domain.webhooks.policy",
    "domain.webhook_delivery": "domain.webhooks.delivery",
}


def _classes(module: ModuleType, owner: object = None):
    """Every class defined in `module`, nested ones too (events are nested in aggregates)."""
    for value in vars(owner or module).values():
        if inspect.isclass(value) and value.__module__ == module.__name__ \
                and value.__qualname__.startswith(getattr(owner, "__qualname__", "")):
            yield value
            yield from _classes(module, value)


def register_moved_topics() -> None:
    """Make every old topic of a moved class resolve to it (class by class: registering a
    whole module would also redirect new topics that start with the old module's name)."""
    for old, new in MOVED.items():
        module = importlib.import_module(new)
        for cls in _classes(module):
            register_topic(f"{old}:{cls.__qualname__}", cls)


@lru_cache(maxsize=None)
def canonical(topic: str) -> str:
    """The current topic of the class a stored topic names."""
    return get_topic(resolve_topic(topic))


def stored_topics(cls: type) -> list[str]:
    """Every topic `cls`'s events may be stored under: the current one and the old ones."""
    return [get_topic(cls)] + [f"{old}:{cls.__qualname__}" for old, new in MOVED.items()
                               if new == cls.__module__]


register_moved_topics()
