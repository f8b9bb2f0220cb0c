"""Retrying a command handler on optimistic-concurrency conflicts.

Concurrent writers meet conflicts on the same streams; each handler is retried from a fresh
load a few times before giving up (ADR 0020).
"""

import functools
import random
import time
from typing import Callable

from eventsourcing.persistence import IntegrityError, RecordConflictError

from domain.errors import WriteContended

ATTEMPTS = 25


def retried(handler: Callable) -> Callable:
    """Run a handler again from a fresh load when another writer got there first; after
    ATTEMPTS conflicts in a row, refuse with WriteContended (503, try again) and nothing saved."""

    @functools.wraps(handler)
    def run(self, command, *args, **kwargs):
        for attempt in range(ATTEMPTS):
            try:
                return handler(self, command, *args, **kwargs)
            except (RecordConflictError, IntegrityError) as conflict:
                if attempt == ATTEMPTS - 1:
                    raise WriteContended("other writers kept changing the same object; "
                                         "nothing was changed, try again") from conflict
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # spread the next tries
        raise AssertionError("unreachable")

    return run
