import pytest

from domain.errors import DigestInvalid, NameInvalid
from domain.names import check_digest, check_repository, is_tag, stream_id


@pytest.mark.parametrize("name", ["library/app", "team/a/b", "p/x.y_z-w", "a0/b__c"])
def test_valid_repository_names_pass(name):
    assert check_repository(name) == name


@pytest.mark.parametrize("name", ["app", "Library/app", "library/../x", "library//x", "/library/x",
                                  "library/x/", "library/-x", "a/" + "b" * 300])
def test_invalid_repository_names_are_refused(name):
    with pytest.raises(NameInvalid):
        check_repository(name)


def test_digests_need_a_known_algorithm_and_exact_length():
    assert check_digest("sha256:" + "a" * 64)
    assert check_digest("sha512:" + "b" * 128)
    for bad in ("sha256:" + "a" * 63, "md5:" + "a" * 32, "sha256:" + "A" * 64, "sha256"):
        with pytest.raises(DigestInvalid):
            check_digest(bad)


def test_tags_follow_the_spec_pattern():
    assert is_tag("v1.2.3-rc_1") and not is_tag(".hidden") and not is_tag("a" * 129)


def test_same_natural_key_gives_same_stream():
    assert stream_id("tag", "a/b", "x") == stream_id("tag", "a/b", "x")
    assert stream_id("tag", "a/b", "x") != stream_id("tag", "a/bx", "")
