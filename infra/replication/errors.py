"""What can go wrong talking to another registry, sorted by what a retry can change.

Every message is one line that names the registry and the operation and never holds a
password or a token: the worker records it in events and shows it in the portal.
"""

import json
import ssl

import httpx


class ReplicationError(Exception):
    """Base; str(error) is a clear one-line reason, never containing a password or token."""


class Unreachable(ReplicationError):
    """Connection refused or reset, DNS failure, timeouts: retryable."""


class TlsError(ReplicationError):
    """Certificate verification failed: not retryable until the CA or `insecure` is fixed."""


class Unauthorized(ReplicationError):
    """401/403 after authentication was tried: the credentials were refused; not retryable."""


class NotFound(ReplicationError):
    """404 for a manifest, blob or repository."""


class ServerError(ReplicationError):
    """5xx or 429: retryable."""


class Refused(ReplicationError):
    """Any other 4xx: not retryable; the message carries the OCI error code and message."""


class DigestMismatch(ReplicationError):
    """The bytes read, or the digest the destination answered, differ from the expected digest:
    retryable."""


RETRYABLE = (Unreachable, ServerError, DigestMismatch)

_MESSAGE_LIMIT = 300


def one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """`text` on one line, cut to `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def oci_reason(response: httpx.Response) -> str:
    """`CODE: message` from an OCI error body (`{"errors": [...]}`), or '' when there is none.
    Call only on a read (non-streamed) response."""
    try:
        errors = json.loads(response.content).get("errors") or []
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            parts.append(f"{code}: {message}" if code and message else code or message)
    return one_line("; ".join(part for part in parts if part), 200)


def oci_codes(response: httpx.Response) -> set[str]:
    """The OCI error codes of a read response's body."""
    try:
        errors = json.loads(response.content).get("errors") or []
        return {str(error.get("code")) for error in errors if isinstance(error, dict)}
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return set()


def error_for_status(response: httpx.Response, registry: str, what: str) -> ReplicationError:
    """The error an unsuccessful answer means. The response must have been read."""
    status = response.status_code
    reason = oci_reason(response)
    detail = f"HTTP {status}" + (f" {reason}" if reason else "")
    if status in (401, 403):
        return Unauthorized(f"registry {registry} refused the credentials for {what} ({detail})")
    if status == 404:
        return NotFound(f"{what}: not found on registry {registry} ({detail})")
    if status == 429 or status >= 500:
        return ServerError(f"registry {registry} failed {what} ({detail})")
    return Refused(f"registry {registry} refused {what} ({detail})")


def _causes(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def error_for_transport(error: httpx.TransportError, registry: str, what: str,
                        timeout: float) -> ReplicationError:
    """The error a failed exchange (no HTTP answer) means."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = one_line(cause.verify_message or cause.reason or "verification failed", 120)
            return TlsError(f"TLS certificate of registry {registry} was not accepted ({reason}): "
                            f"add its CA certificate or set the registry as insecure")
        if isinstance(cause, ssl.SSLError):
            reason = one_line(cause.reason or str(cause), 120)
            return TlsError(f"TLS handshake with registry {registry} failed ({reason}): check that "
                            f"it speaks HTTPS on this port, or use an http:// URL")
    if isinstance(error, httpx.TimeoutException):
        return Unreachable(f"registry {registry} did not answer {what} within {timeout:g}s "
                           f"({type(error).__name__})")
    if isinstance(error, httpx.ConnectError):
        return Unreachable(f"cannot connect to registry {registry} for {what} ({one_line(error, 120)})")
    return Unreachable(f"connection to registry {registry} broke during {what} "
                       f"({type(error).__name__}: {one_line(error, 120)})")
