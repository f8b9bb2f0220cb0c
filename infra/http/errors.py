"""The one table that maps domain errors to HTTP statuses."""

from domain import errors

STATUS_BY_CODE = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNSUPPORTED": 405,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "TOOMANYREQUESTS": 429,
    "CONFLICT": 409,
    "BAD_REQUEST": 400,
    "NOT_FOUND": 404,
    "UNPROCESSABLE_ENTITY": 422,
    "FORBIDDEN": 403,
    "PRECONDITION": 412,
    "PROJECTPOLICYVIOLATION": 412,
    "UNAVAILABLE": 503,
}

# Errors whose status differs from their code's usual one.
STATUS_BY_CLASS = {
    errors.ManifestTooLarge: 413,
    errors.RangeInvalid: 416,
}


def status_for(error: errors.RegistryError) -> int:
    for cls, status in STATUS_BY_CLASS.items():
        if isinstance(error, cls):
            return status
    return STATUS_BY_CODE.get(error.code, 400)
