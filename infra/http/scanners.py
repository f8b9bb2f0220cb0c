"""What the scanner routes share: their paths, the registration answer (the credential never
leaves: "******" when one is set) and calls to an adapter on behalf of a route."""

import anyio.to_thread

from domain.errors import BadRequest
from domain.webhooks.targets import REDACTED
from infra.http.listing import BOOL, Key, Listing
from infra.schemas.scanners import ScannerRegistration
from domain.scanning.scan_all import TRIGGERS
from infra.scanner.adapter_client import AdapterClient, Malformed, Refused, Retryable

API = "/api/v2.0"
SCANNERS = API + "/scanners"
P = API + "/projects/{project_name_or_id:str}"
A = API + "/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}"
SCANNER_KEYS = Listing({"name": Key(), "description": Key(), "url": Key(), "auth": Key(),
                        "is_default": Key(BOOL), "disabled": Key(BOOL), "create_time": Key(),
                        "update_time": Key()})


def registration_resp(uuid: str, item: dict, default: str) -> ScannerRegistration:
    return ScannerRegistration(
        uuid=uuid, name=item["name"], description=item.get("description", ""), url=item["url"],
        disabled=item.get("disabled", False), is_default=uuid == default, auth=item.get("auth", ""),
        access_credential=REDACTED if item.get("access_credential") else "",
        skip_certVerify=item.get("skip_cert_verify", False), use_internal_addr=item.get("use_internal_addr", False),
        create_time=item["created"], update_time=item["updated"])


async def registrations(who):
    return await anyio.to_thread.run_sync(who.registry.scanners.current)


async def registration(who, registration_id: str):
    current = await registrations(who)
    return current, current.get(registration_id)


def adapter_for(who, item: dict) -> AdapterClient:
    return AdapterClient(item["url"], item.get("auth", ""), who.registry.scanners.credential(item),
                         verify=not item.get("skip_cert_verify", False), timeout=10.0)


def adapter_metadata(client: AdapterClient) -> dict:
    try:
        return client.metadata()
    except (Retryable, Refused, Malformed) as error:
        raise BadRequest(f"the scanner adapter could not be asked for its metadata: {error}")
    finally:
        client.close()




def stats(registry, trigger: str | None) -> dict:
    """Harbor's Stats of the latest run (of `trigger`, or of any)."""
    current = registry.scan_all.current()
    trigger = trigger or current.current
    run = current.runs.get(trigger) if trigger else None
    if run is None:
        return {"total": 0, "completed": 0, "metrics": {}, "ongoing": False, "trigger": trigger or "Manual"}
    counts = registry.scan_runs.counts(TRIGGERS[trigger], since=run["after"])
    done = sum(counts.get(s, 0) for s in ("Success", "Error", "Stopped"))
    total = run["requested"] if run["status"] == "Expanded" else sum(counts.values())
    ongoing = run["status"] == "Running" or any(counts.get(s) for s in ("Pending", "Running"))
    return {"total": total, "completed": done, "metrics": counts, "ongoing": ongoing, "trigger": trigger}
