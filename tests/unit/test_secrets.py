"""Sealed secrets: what a sealed value holds, which keys open it, and how exports treat
clear values of older versions."""

import pytest

from infra.auth.key_files import StartupRefused
from infra.auth.secrets import Keyring, SecretUnavailable, key_id_of, new_key_line, redact_clear

PURPOSE = "webhook auth header"


def test_a_sealed_value_names_its_key_and_holds_nothing_readable():
    keyring = Keyring.generate()
    sealed = keyring.seal("Bearer s3cret", PURPOSE)
    assert sealed.startswith(f"sealed:v1:{keyring.current}:") and "s3cret" not in sealed
    assert key_id_of(sealed) == keyring.current and key_id_of("Bearer s3cret") is None
    assert keyring.open(sealed, PURPOSE) == "Bearer s3cret"
    assert keyring.seal("Bearer s3cret", PURPOSE) != sealed  # a fresh nonce every time


def test_a_sealed_value_opens_only_for_its_purpose_with_its_key_and_unaltered():
    keyring = Keyring.generate()
    sealed = keyring.seal("Bearer s3cret", PURPOSE)
    with pytest.raises(SecretUnavailable, match="altered"):
        keyring.open(sealed, "oidc client secret")
    with pytest.raises(SecretUnavailable, match="altered"):
        keyring.open(sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB"), PURPOSE)
    other = Keyring.generate()
    with pytest.raises(SecretUnavailable, match=f"sealed with key {keyring.current}, which is not in"):
        other.open(sealed, PURPOSE)


def test_a_newer_key_seals_and_older_keys_still_open():
    old_line, new_line = new_key_line(), new_key_line()
    old = Keyring.parse(old_line)
    before = old.seal("Bearer old", PURPOSE)
    rotated = Keyring.parse("# comment\n" + old_line + new_line)
    assert rotated.current == new_line.split()[0] != old.current
    assert key_id_of(rotated.seal("x", PURPOSE)) == rotated.current
    assert rotated.open(before, PURPOSE) == "Bearer old"


def test_a_clear_value_of_an_older_version_opens_as_it_is():
    assert Keyring.generate().open("Bearer legacy", PURPOSE) == "Bearer legacy"


def test_a_key_file_that_is_not_keys_is_refused_with_its_line():
    with pytest.raises(StartupRefused, match="line 2: expected"):
        Keyring.parse(new_key_line() + "k1 not-base64!\n")
    with pytest.raises(StartupRefused, match="holds no key"):
        Keyring.parse("# only a comment\n")


def test_exports_replace_clear_secrets_and_keep_sealed_ones():
    sealed = Keyring.generate().seal("Bearer new", PURPOSE)
    data = {"name": "hook", "targets": [{"address": "https://x/", "auth_header": "Bearer legacy"},
                                        {"address": "https://y/", "auth_header": sealed},
                                        {"address": "https://z/", "auth_header": ""}]}
    assert [t["auth_header"] for t in redact_clear(data)["targets"]] == ["******", sealed, ""]
