"""Who owns a CVE export: the calling user, by user id (shared by the read and write routes)."""

import anyio.to_thread


async def export_owner(who) -> int:
    """The caller's user id (exports belong to users; a name is not an identity across time)."""
    who.require_login()
    row = None
    if who.principal.kind == "user":
        row = await anyio.to_thread.run_sync(who.registry.iam_queries.user, who.principal.name)
    if row is None:
        raise who.refuse("CVE exports belong to users")
    return row.user_id
