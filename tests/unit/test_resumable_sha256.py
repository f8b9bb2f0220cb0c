"""The sha256 whose state a node saves and another resumes (ADR 0046)."""

import hashlib
import os

import pytest

from infra.storage.resumable_sha256 import AVAILABLE, STATE_TAG, ResumableSha256, new_sha256

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="libcrypto's SHA256_CTX is not usable here")


@pytest.mark.parametrize("cuts", [[0], [1], [63, 64, 65], [1000, 5000, 70_001]])
def test_a_state_resumed_anywhere_gives_hashlibs_digest(cuts):
    data = os.urandom(80_000)
    hasher, start = new_sha256(), 0
    for cut in [*cuts, len(data)]:
        hasher.update(data[start:cut])
        hasher = ResumableSha256.resume(hasher.state())  # as if the next part came to another node
        start = cut
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()


def test_hexdigest_leaves_the_hash_usable():
    hasher = new_sha256()
    hasher.update(b"abc")
    assert hasher.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    hasher.update(b"def")
    assert hasher.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()


@pytest.mark.parametrize("state", [None, b"", b"garbage", STATE_TAG + b"short", b"x" * 135])
def test_a_state_it_cannot_read_is_refused(state):
    assert ResumableSha256.resume(state) is None
