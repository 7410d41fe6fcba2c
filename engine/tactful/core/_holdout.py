"""Holdout assignment: a versioned, stable hash of (site salt, visitor id).

Version 1 is 32-bit FNV-1a over the UTF-8 bytes of ``salt + "|" + visitor_id``,
bucketed as ``(hash % 10000) / 10000``. A visitor is in the holdout when their
bucket is below the playbook's holdout fraction. The arithmetic is integer-only,
so CPython, Pyodide and any other runtime that implements the same steps agree
bit for bit; the golden spec file pins vectors for it.

Version 2 passes the same FNV-1a through MurmurHash3's 32-bit finaliser (``mix32``) before
bucketing, and picks a trigger's variant from the mixed hash too. FNV-1a's low bits are weak:
its lowest bit is the parity of the input bytes' lowest bits, so under version 1 a visitor's
variant of one two-variant trigger decides their variant of every other (the hash input differs
only by the trigger id, whose parity is fixed). After the finaliser every output bit depends on
every input bit.

A new hash must be a new version: changing version 1 would silently reshuffle
every visitor between arms in the middle of an experiment.
"""

from __future__ import annotations

from ._errors import HashVersionError

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
HASH_VERSIONS = (1, 2)

HOLDOUT = "holdout"
TREATMENT = "treatment"


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a. ``fnv1a_32(b"a") == 0xE40C292C``."""
    h = FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def mix32(h: int) -> int:
    """MurmurHash3's 32-bit finaliser: every output bit depends on every input bit."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def stable_hash(text: str, version: int) -> int:
    """The versioned 32-bit hash of ``text`` (UTF-8) that holdout and variants are drawn from."""
    if version not in HASH_VERSIONS:
        raise HashVersionError(f"unknown holdout hash version {version!r}; known: {HASH_VERSIONS}")
    h = fnv1a_32(text.encode())
    return h if version == 1 else mix32(h)


def holdout_bucket(salt: str, visitor_id: str, version: int = 1) -> float:
    """The visitor's position in [0, 1) for this site; stable across runtimes.

    >>> holdout_bucket("demo-shop", "visitor-1")
    0.7361
    """
    return (stable_hash(f"{salt}|{visitor_id}", version) % 10000) / 10000


def assign_arm(salt: str, visitor_id: str, fraction: float, version: int = 1) -> str:
    """``"holdout"`` or ``"treatment"`` for a visitor."""
    return HOLDOUT if holdout_bucket(salt, visitor_id, version) < fraction else TREATMENT
