"""LDAP settings checked by their form before they are stored or tried (domain/ldap_settings.py),
and the directory client's filters and DN comparisons (infra/auth/ldap_directory.py)."""

import pytest

from domain.errors import BadRequest
from domain.ldap_settings import check_attribute, check_dn, endpoint, normalized_filter
from domain.ldap_settings import same_dn, under
from infra.auth.ldap_directory import Directory, LdapSettings


@pytest.mark.parametrize("url, expected", [
    ("ldap://dir.example.org", ("dir.example.org", 389, "")),
    ("ldaps://dir.example.org", ("dir.example.org", 636, "ldaps")),
    ("LDAPS://10.0.0.5:1636", ("10.0.0.5", 1636, "ldaps")),
    ("ldap+starttls://dir:3389", ("dir", 3389, "starttls")),
    ("dir.example.org:389", ("dir.example.org", 389, "")),
])
def test_urls_name_host_port_and_tls(url, expected):
    assert endpoint(url) == expected


@pytest.mark.parametrize("url", ["http://dir", "ldap://", "ldap://dir/dc=x", "ldap://u:p@dir", "ldap://dir:99999",
                                 "ldap://dir?x"])
def test_other_urls_are_refused(url):
    with pytest.raises(BadRequest):
        endpoint(url)


def test_distinguished_names_follow_rfc_4514():
    for dn in ("dc=example,dc=org", "cn=Smith\\, John,ou=people,dc=x", "uid=a+cn=b,dc=x", "2.5.4.3=x"):
        assert check_dn(dn, "ldap_base_dn") == dn
    for dn in ("example", "dc=,dc=org", "=x", "dc=x,", "cn=x\\"):
        with pytest.raises(BadRequest):
            check_dn(dn, "ldap_base_dn")


def test_filters_are_one_balanced_filter():
    assert normalized_filter("objectClass=person", "f") == "(objectClass=person)"
    assert normalized_filter("(&(a=b)(c=d))", "f") == "(&(a=b)(c=d))"
    assert normalized_filter("(cn=a\\29b)", "f") == "(cn=a\\29b)"
    for text in ("(a=b))(c=d", "(a=b)(c=d)", "((a=b)", "a=b)", "(ab)"):
        with pytest.raises(BadRequest):
            normalized_filter(text, "f")


def test_attribute_names():
    assert check_attribute("sAMAccountName", "k") == "sAMAccountName"
    for name in ("uid)(x", "u id", "*", "1uid"):
        with pytest.raises(BadRequest):
            check_attribute(name, "k")


def test_a_username_goes_into_the_filter_escaped():
    directory = Directory(LdapSettings(url="ldap://dir", base_dn="dc=x", filter="objectClass=person", uid="uid"))
    assert directory._user_filter("*)(uid=*") == "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))"
    assert directory._user_filter("a\\b\x00") == "(&(objectClass=person)(uid=a\\5cb\\00))"
    assert directory._user_filter(None) == "(&(objectClass=person)(uid=*))"


def test_dns_compare_as_values_and_by_ancestry():
    assert same_dn("CN=Admins, OU=Groups,DC=Example,DC=org", "cn=admins,ou=groups,dc=example,dc=org")
    assert not same_dn("cn=admins,ou=groups,dc=x", "cn=admins2,ou=groups,dc=x")
    assert under("cn=a,ou=groups,dc=x", "ou=groups,dc=x") and under("ou=groups,dc=x", "OU=groups,dc=x")
    assert not under("cn=a,ou=people,dc=x", "ou=groups,dc=x")
    assert not under("cn=a,ou=groups,dc=x,dc=evil", "ou=groups,dc=x")
