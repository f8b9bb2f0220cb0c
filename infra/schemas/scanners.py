"""Wire shapes of scanner registrations and scan requests (Harbor's ScannerRegistration,
ScannerRegistrationReq, ScannerRegistrationSettings, IsDefault, ProjectScanner, ScanType)."""

import msgspec


class ScannerRegistration(msgspec.Struct, kw_only=True):
    uuid: str
    name: str
    description: str
    url: str
    disabled: bool
    is_default: bool
    auth: str
    access_credential: str  # never the credential: "" or the redaction marker
    skip_certVerify: bool
    use_internal_addr: bool
    create_time: str
    update_time: str
    adapter: str = ""
    vendor: str = ""
    version: str = ""
    health: str = ""


class ScannerRegistrationReq(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    name: str = ""
    url: str = ""
    description: str = ""
    auth: str = ""
    access_credential: str = ""
    skip_certVerify: bool = False
    use_internal_addr: bool = False
    disabled: bool = False


class IsDefault(msgspec.Struct, kw_only=True):
    is_default: bool = False


class ProjectScanner(msgspec.Struct, kw_only=True):
    uuid: str = ""


class ScanType(msgspec.Struct, kw_only=True):
    scan_type: str = "vulnerability"
