"""Errors the domain raises, each tied to one OCI error code.

The HTTP layer maps the code to a status in one table (infra/http/errors.py), so a
rule broken anywhere answers the same way everywhere.
"""


class RegistryError(Exception):
    """A refused request, with the OCI error code that names the reason."""

    code = "UNKNOWN"
    retry_after: int | None = None  # seconds a client should wait before trying again

    def __init__(self, message: str, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class BlobUnknown(RegistryError):
    code = "BLOB_UNKNOWN"


class BlobUploadInvalid(RegistryError):
    code = "BLOB_UPLOAD_INVALID"


class BlobUploadUnknown(RegistryError):
    code = "BLOB_UPLOAD_UNKNOWN"


class DigestInvalid(RegistryError):
    code = "DIGEST_INVALID"


class ManifestBlobUnknown(RegistryError):
    code = "MANIFEST_BLOB_UNKNOWN"


class ManifestInvalid(RegistryError):
    code = "MANIFEST_INVALID"


class ManifestUnknown(RegistryError):
    code = "MANIFEST_UNKNOWN"


class NameInvalid(RegistryError):
    code = "NAME_INVALID"


class NameUnknown(RegistryError):
    code = "NAME_UNKNOWN"


class SizeInvalid(RegistryError):
    code = "SIZE_INVALID"


class ManifestTooLarge(SizeInvalid):
    """A manifest over the size limit (answered 413)."""


class RangeInvalid(RegistryError):
    """A byte range that does not fit the blob or upload (answered 416)."""

    code = "BLOB_UPLOAD_INVALID"


class Unsupported(RegistryError):
    code = "UNSUPPORTED"


class Unauthorized(RegistryError):
    code = "UNAUTHORIZED"


class Denied(RegistryError):
    code = "DENIED"


class TooManyRequests(RegistryError):
    code = "TOOMANYREQUESTS"


class WriteContended(RegistryError):
    """Concurrent writers kept conflicting on the same stream past every retry: nothing was
    saved, and the same request may simply be sent again (answered 503 with Retry-After)."""

    code = "UNAVAILABLE"
    retry_after = 1


class ProjectExists(RegistryError):
    code = "CONFLICT"


class Forbidden(RegistryError):
    """A known caller without the right (Harbor's FORBIDDEN, the OCI side's DENIED)."""

    code = "FORBIDDEN"


class BadRequest(RegistryError):
    """Input the management API cannot accept (answered 400)."""

    code = "BAD_REQUEST"


class NotFound(RegistryError):
    code = "NOT_FOUND"



class Conflict(RegistryError):
    code = "CONFLICT"


class PreconditionFailed(RegistryError):
    code = "PRECONDITION"


class Unprocessable(RegistryError):
    """A well-formed request this registry cannot carry out: an action it does not have, or
    stored content it cannot read within its limits (answered 422)."""

    code = "UNPROCESSABLE_ENTITY"


class SignInThrottled(TooManyRequests):
    """Too many failed sign-ins from one source: it may try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins from this address; try again in {retry_after} s")
        self.retry_after = retry_after


class PolicyViolation(RegistryError):
    """A pull refused by a project policy (content trust, vulnerabilities): Harbor answers
    412 with this code."""

    code = "PROJECTPOLICYVIOLATION"
