"""An image's packages as a software bill of materials: SPDX 2.3 JSON or CycloneDX 1.6 JSON.

Both name the image (repository and digest) as the thing described and every package with
its purl, so a consumer of either can look packages up in any vulnerability database.
SPDX is written here (its JSON is small and stable); CycloneDX through cyclonedx-python-lib,
the format's own library.
"""

import json
import re
from datetime import datetime, timezone
from typing import Any

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from domain.scanning.inventory import OperatingSystem, Package

NAMESPACE = "https://tidemark.invalid/spdx"  # SPDX wants a unique URI; no one fetches it


def _spdx_id(index: int, package: Package) -> str:
    return "SPDXRef-Package-" + re.sub(r"[^A-Za-z0-9.\-]+", "-", f"{package.kind}-{package.name}-{index}")


def spdx(artifact: dict, packages: list[Package], system: OperatingSystem, created: str, tool: str,
         document_id: str) -> dict[str, Any]:
    """An SPDX 2.3 document: the image as a package that CONTAINS every installed one."""
    repository, digest = artifact.get("repository", ""), artifact.get("digest", "")
    image = {"SPDXID": "SPDXRef-Image", "name": repository or "image", "versionInfo": digest,
             "downloadLocation": "NOASSERTION", "filesAnalyzed": False, "primaryPackagePurpose": "CONTAINER",
             "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                               "referenceLocator": _image_purl(repository, digest)}]}
    rows, relationships = [image], [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                                     "relatedSpdxElement": "SPDXRef-Image"}]
    for index, package in enumerate(packages):
        spdx_id = _spdx_id(index, package)
        row = {"SPDXID": spdx_id, "name": package.name, "versionInfo": package.version,
               "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
               "primaryPackagePurpose": "OPERATING-SYSTEM" if package.kind in ("deb", "apk") else "LIBRARY",
               "sourceInfo": f"read from /{package.path}"}
        if package.purl:
            row["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                                    "referenceLocator": package.purl}]
        rows.append(row)
        relationships.append({"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS",
                              "relatedSpdxElement": spdx_id})
    comment = f"Operating system: {system.pretty_name}" if system.pretty_name else "Operating system: unknown"
    return {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"{repository}@{digest}", "documentNamespace": f"{NAMESPACE}/{document_id}",
            "creationInfo": {"created": _seconds(created), "creators": [f"Tool: {tool}"], "comment": comment},
            "packages": rows, "relationships": relationships}


def _seconds(moment: str) -> str:
    """SPDX's timestamp form: whole seconds, UTC, `Z`."""
    return datetime.fromisoformat(moment).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_purl(repository: str, digest: str) -> str:
    name = repository.rsplit("/", 1)[-1] or "image"
    return PackageURL("oci", None, name, digest or None,
                      {"repository_url": repository} if repository else None).to_string()


def cyclonedx(artifact: dict, packages: list[Package], created: str, tool: str, tool_version: str,
              document_id: str) -> dict[str, Any]:
    """A CycloneDX 1.6 document: the image as the metadata component, packages as components
    it depends on."""
    from uuid import UUID

    bom = Bom(serial_number=UUID(document_id))
    bom.metadata.timestamp = datetime.fromisoformat(created)
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name=tool,
                                                version=tool_version))
    image = Component(type=ComponentType.CONTAINER, name=artifact.get("repository") or "image",
                      version=artifact.get("digest") or None, bom_ref="image",
                      purl=PackageURL.from_string(_image_purl(artifact.get("repository", ""),
                                                              artifact.get("digest", ""))))
    bom.metadata.component = image
    components = []
    for index, package in enumerate(packages):
        component = Component(
            type=ComponentType.LIBRARY,
            name=package.name, version=package.version, bom_ref=f"pkg-{index}",
            purl=PackageURL.from_string(package.purl) if package.purl else None)
        components.append(component)
        bom.components.add(component)
    bom.register_dependency(image, components)
    return json.loads(JsonV1Dot6(bom).output_as_string())
