"""Wiring content trust into a registry: trusted keys (commands, queries, view) and the
cosign and notation pull gates."""

from commands.trusted_keys import TrustedKeyCommands
from infra.signatures.gates import CosignGate, DecisionCache, NotationGate, Signatures
from infra.signatures.signer_pass import signer_pass
from projections.projector import Projector
from projections.trusted_keys import TrustedKeyQueries, TrustedKeyView


def attach_content_trust(registry) -> None:
    app, db = registry.app, registry.db
    registry.trusted_keys = TrustedKeyQueries(db)
    registry.trusted_key_commands = TrustedKeyCommands(app)
    registry.projectors.append(Projector(app, db, TrustedKeyView()))
    signatures, cache = Signatures(registry), DecisionCache()
    registry.pull_gates.add(CosignGate(registry, signatures, cache))
    registry.pull_gates.add(NotationGate(registry, signatures, cache))
    if registry.settings.content_trust_signer_pull:
        registry.pull_gates.passes.append(signer_pass(registry))
