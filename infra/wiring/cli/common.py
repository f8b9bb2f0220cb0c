"""What every `tidemark` verb shares: its settings, the data directory's registry, and the
one-line mistakes."""

from contextlib import contextmanager

from infra.settings import load_settings


def settings_of(args):
    return load_settings(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None))


class CliError(Exception):
    """A mistake or a refusal the CLI reports in one line (exit status 2)."""


@contextmanager
def registry_for(args, verb: str, writes: bool = True):
    """The registry of the data directory, for one CLI verb.

    On the embedded default the verb holds the data directory's lock while it runs, and
    catches the query models up first (which writes). A verb that only reads may run beside
    a live server: it then reads the stores as the server keeps them and writes nothing."""
    from infra.store.data_dir_lock import DataDirBusy, data_dir_lock
    from infra.wiring.registry import build_registry

    settings = settings_of(args)
    lock = data_dir_lock(settings)
    beside_server = False
    if lock is not None:
        try:
            lock.acquire(verb)
        except DataDirBusy as busy:
            if writes or not busy.is_server:
                raise CliError(busy.message) from None
            beside_server = True
    try:
        registry = build_registry(settings)
        try:
            if not beside_server:
                registry.start(follow=False)
            yield registry
        finally:
            registry.close()
    finally:
        if lock is not None:
            lock.release()
