"""`tidemark keys ...`: the key files, and rotating the key that seals secrets (ADR 0014)."""

import argparse

from infra.auth.key_files import read_private
from infra.auth.secrets import Keyring
from infra.wiring.cli.common import registry_for


def _status(registry) -> int:
    from cryptography.hazmat.primitives import serialization

    from infra.wiring.secret_rotation import usage
    from infra.auth.tokens import _kid

    settings = registry.settings
    pem = read_private(settings.token_key_path)
    kid = _kid(serialization.load_pem_private_key(pem, None).public_key()) if pem else "(none yet)"
    print(f"token signing key\t{settings.token_key_path}\t{kid}")
    data = read_private(settings.secrets_key_path)  # shown as it is: never made here
    keyring = Keyring.parse(data.decode(), settings.secrets_key_path) if data else None
    counts = usage(registry)
    for key in (keyring.keys if keyring else {}):
        role = "seals and opens" if key == keyring.current else "opens"
        print(f"secrets key {key}\t{settings.secrets_key_path}\t{role}\t{counts.get(key, 0)} secrets")
    for key, count in counts.items():
        if key is None:
            print(f"clear secrets of an older version\t{count} (sealed at the next start)")
        elif not keyring or key not in keyring.keys:
            print(f"secrets key {key}\tMISSING from {settings.secrets_key_path}\t{count} secrets")
    return 0


def _add_secrets_key(registry) -> int:
    kid = registry.secrets.add_key()  # also the way to a new file when the old one is lost
    print(f"added secrets key {kid} to {registry.secrets.path}: it seals new secrets once the "
          "registry is restarted; then run `tidemark keys reseal`")
    return 0


def _reseal(registry) -> int:
    from domain.base import Actor
    from infra.wiring.secret_rotation import reseal

    changed = reseal(registry, Actor(name="cli"))
    print(f"resealed the secrets of {changed} webhook policies with key "
          f"{registry.secrets.keyring().current}")
    return 0


def _retire(registry, kid: str) -> int:
    from infra.wiring.secret_rotation import retire

    retire(registry, kid)
    print(f"removed secrets key {kid} from {registry.secrets.path}")
    return 0


def _new_token_key(registry) -> int:
    kid = registry.tokens.key_file.replace()
    print(f"new token signing key {kid} in {registry.settings.token_key_path}: restart every node "
          "with this file; tokens issued before no longer verify")
    return 0


def with_registry(args, action) -> int:
    """Run a `keys` verb on the data directory's registry (status only reads)."""
    with registry_for(args, f"keys {args.verb}", writes=args.verb != "status") as registry:
        return action(registry)


def add_parser(sub) -> None:
    """Register `keys` and its verbs."""
    keys = sub.add_parser("keys", help="key files and the rotation of the secrets key")
    verbs = keys.add_subparsers(dest="verb", required=True)
    for name, action, text in (
            ("status", _status, "key files, key ids, and how many secrets each key seals"),
            ("add-secrets-key", _add_secrets_key, "add a key that seals new secrets (after a restart)"),
            ("reseal", _reseal, "seal every current secret with the newest key, as new events"),
            ("new-token-key", _new_token_key, "replace the token signing key (issued tokens stop working)")):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--data-dir", default=argparse.SUPPRESS)
        verb.set_defaults(func=lambda args, action=action: with_registry(args, action))
    retire = verbs.add_parser("retire-secrets-key", help="remove a key no current secret uses")
    retire.add_argument("kid")
    retire.add_argument("--data-dir", default=argparse.SUPPRESS)
    retire.set_defaults(func=lambda args: with_registry(args, lambda r: _retire(r, args.kid)))
