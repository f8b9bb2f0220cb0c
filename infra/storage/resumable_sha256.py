"""A sha256 whose running state can be saved and resumed in another process.

Python's hashlib cannot export a hash's state, so a chunked upload continued on another
node would have to read every byte again at the end. OpenSSL's SHA256_CTX is a plain
112-byte structure (eight state words, the bit count, the pending block); libcrypto 3
still exports SHA256_Init/Update/Final, at the speed of hashlib's own sha256 (the same
block function). The state is saved tagged with its layout; a state this process cannot
read (another layout, no libcrypto) is refused, and the caller hashes the bytes again.
"""

import ctypes
import ctypes.util
import hashlib

STATE_TAG = b"openssl-sha256-ctx-112:"


class _Context(ctypes.Structure):
    _fields_ = [("h", ctypes.c_uint32 * 8), ("Nl", ctypes.c_uint32), ("Nh", ctypes.c_uint32),
                ("data", ctypes.c_uint32 * 16), ("num", ctypes.c_uint), ("md_len", ctypes.c_uint)]


def _load():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
        init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
    except (OSError, AttributeError):
        return None
    init.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    return lib


_LIB = _load()


class ResumableSha256:
    """sha256 with `state()` to save and `resume(state)` to continue (ctypes releases the
    GIL while OpenSSL hashes, as hashlib does)."""

    def __init__(self, context: _Context | None = None) -> None:
        self._context = context or _Context()
        if context is None:
            _LIB.SHA256_Init(ctypes.byref(self._context))

    @classmethod
    def resume(cls, state: bytes | None) -> "ResumableSha256 | None":
        """The hash continued from a saved state; None if there is none this process can read."""
        if (_LIB is None or state is None or not state.startswith(STATE_TAG)
                or len(state) != len(STATE_TAG) + ctypes.sizeof(_Context)):
            return None
        return cls(_Context.from_buffer_copy(state[len(STATE_TAG):]))

    def update(self, data: bytes) -> None:
        _LIB.SHA256_Update(ctypes.byref(self._context), data, len(data))

    def state(self) -> bytes:
        return STATE_TAG + bytes(self._context)

    def hexdigest(self) -> str:
        copy = _Context.from_buffer_copy(bytes(self._context))  # Final wipes the context
        out = ctypes.create_string_buffer(32)
        _LIB.SHA256_Final(out, ctypes.byref(copy))
        return out.raw.hex()


def _works() -> bool:
    """Whether the library is there and its layout is the one assumed (checked once)."""
    if _LIB is None:
        return False
    first = ResumableSha256()
    first.update(b"tidemark upload ")
    resumed = ResumableSha256.resume(first.state())
    resumed.update(b"state check" * 10)
    return resumed.hexdigest() == hashlib.sha256(b"tidemark upload " + b"state check" * 10).hexdigest()


AVAILABLE = _works()


def new_sha256() -> ResumableSha256 | None:
    """A fresh resumable sha256, or None where OpenSSL's context cannot be used."""
    return ResumableSha256() if AVAILABLE else None


__all__ = ["AVAILABLE", "ResumableSha256", "new_sha256"]
