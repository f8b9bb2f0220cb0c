"""Wiring vulnerability views into a registry: the findings view and its queries, the
vulnerability pull gate (on `registry.pull_gates`, reachable as `registry.vulnerability_gate`
so the scan wiring can set `scans`), Security Hub and CVE export."""

from commands.cve_export_handlers import CveExportCommands
from projections.projector import Projector
from projections.scanning.cve_export_view import CveExportQueries, CveExportView
from projections.scanning.security_hub_queries import SecurityHubQueries
from projections.scanning.vulnerability_queries import VulnerabilityQueries
from projections.scanning.vulnerability_view import VulnerabilityView
from read_api.scanning.pull_gate import VulnerabilityGate


def attach_vulnerabilities(registry) -> None:
    app, db = registry.app, registry.db
    registry.vulnerabilities = VulnerabilityQueries(db)
    registry.security_hub = SecurityHubQueries(db)
    registry.cve_exports = CveExportQueries(db)
    registry.cve_export_commands = CveExportCommands(app)
    # after the OCI view in every round: the view checks a report's artifact still exists
    registry.projectors += [Projector(app, db, VulnerabilityView()), Projector(app, db, CveExportView())]
    registry.vulnerability_gate = VulnerabilityGate(
        registry.vulnerabilities, lambda: registry.configuration.value("cve_allowlist"))
    registry.pull_gates.add(registry.vulnerability_gate)
