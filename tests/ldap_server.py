"""Debian's OpenLDAP `slapd` for tests: a standalone server on free loopback ports (plain
LDAP and LDAPS with a self-signed certificate), a generated slapd.conf, and an LDIF of a few
people and groups loaded through the server itself (so the memberof overlay sets memberOf).

`ldap_directory(tmp_path)` yields a running `LdapServer`; `.stop()` and `.start()` keep the
ports and the data, so a test can take the directory away and bring it back.

The directory:
- dc=example,dc=org, the search account cn=reader,dc=example,dc=org (READER_PASSWORD);
  anonymous clients may bind but read nothing.
- ou=people: alice (developers), bob (developers), carol (harbor-admins), admin (a directory
  user named like Tidemark's administrator), and `*` (a user whose uid is the star itself).
- ou=groups: developers, harbor-admins (groupOfNames).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests import processes
from tests.integration.servers import free_port

BASE_DN = "dc=example,dc=org"
ROOT_DN = f"cn=root,{BASE_DN}"
ROOT_PASSWORD = "Root-Secret-4-tests"
READER_DN = f"cn=reader,{BASE_DN}"
READER_PASSWORD = "Reader-Secret-7x"
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
USERS = {  # uid: (password, cn, mail)
    "alice": ("Alice-Ldap-Pw1", "Alice Liddell", "alice@example.org"),
    "bob": ("Bob-Ldap-Pw2", "Bob Builder", "bob@example.org"),
    "carol": ("Carol-Ldap-Pw3", "Carol Admin", "carol@example.org"),
    "admin": ("Directory-Admin-Pw4", "Directory Admin", "dir-admin@example.org"),
    "*": ("Star-Ldap-Pw5", "Star", "star@example.org"),
}
MEMBERS = {"developers": ["alice", "bob"], "harbor-admins": ["carol"]}
START_TIMEOUT = 20.0

_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
TLSCertificateFile {dir}/cert.pem
TLSCertificateKeyFile {dir}/key.pem
database mdb
suffix "{base}"
rootdn "{root}"
rootpw {rootpw}
directory {dir}/db
maxsize 104857600
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _ldif() -> str:
    entries = [f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
               f"dn: {READER_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: reader\n"
               f"sn: reader\nuserPassword: {READER_PASSWORD}",
               f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
               f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups"]
    for uid, (password, cn, mail) in USERS.items():
        entries.append(f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n"
                       f"sn: {cn.split()[-1]}\nmail: {mail}\nuserPassword: {password}")
    for group, members in MEMBERS.items():
        entries.append(f"dn: cn={group},{GROUPS}\nobjectClass: groupOfNames\ncn: {group}\n"
                       + "\n".join(f"member: {user_dn(uid)}" for uid in members))
    return "\n\n".join(entries) + "\n"


def _self_signed(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass
class LdapServer:
    directory: Path
    port: int
    tls_port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "cert.pem"

    def settings(self, **overrides) -> dict:
        """/configurations keys for this directory (users under ou=people by uid, groups
        under ou=groups, harbor-admins as the admin group)."""
        return {"ldap_url": self.url, "ldap_search_dn": READER_DN, "ldap_search_password": READER_PASSWORD,
                "ldap_base_dn": PEOPLE, "ldap_filter": "(objectClass=inetOrgPerson)", "ldap_uid": "uid",
                "ldap_scope": 2, "ldap_timeout": 5, "ldap_group_base_dn": GROUPS,
                "ldap_group_search_filter": "(objectClass=groupOfNames)", "ldap_group_attribute_name": "cn",
                "ldap_group_admin_dn": f"cn=harbor-admins,{GROUPS}", **overrides}

    def start(self) -> None:
        binary = shutil.which("slapd") or "/usr/sbin/slapd"
        if not Path(binary).exists():
            pytest.skip("slapd (Debian's slapd package) is not installed")
        if self.process is not None and self.process.poll() is None:
            return
        log = (self.directory / "slapd.log").open("ab")
        self.process = processes.spawn(
            [binary, "-d", "0", "-f", str(self.directory / "slapd.conf"),
             "-h", f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"],
            stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(self.port) or not _listening(self.tls_port):
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.directory / 'slapd.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("slapd did not start listening")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
            self.process = None

    def load(self, ldif: str) -> None:
        """Add entries as the root DN (through the server: overlays see them)."""
        subprocess.run(["ldapadd", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                       input=ldif.encode(), check=True, capture_output=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def ldap_directory(tmp_path: Path) -> Iterator[LdapServer]:
    directory = tmp_path / "slapd"
    (directory / "db").mkdir(parents=True)
    _self_signed(directory)
    (directory / "slapd.conf").write_text(_CONF.format(dir=directory, base=BASE_DN, root=ROOT_DN,
                                                       rootpw=ROOT_PASSWORD))
    server = LdapServer(directory, free_port(), free_port())
    server.start()
    try:
        server.load(_ldif())
        yield server
    finally:
        server.stop()
