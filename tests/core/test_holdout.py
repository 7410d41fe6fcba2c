from __future__ import annotations

import pytest

from tactful.core import HashVersionError, assign_arm, fnv1a_32, holdout_bucket


def test_fnv1a_reference_values():
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_bucket_is_stable_and_salted():
    assert holdout_bucket("demo-shop", "visitor-1") == holdout_bucket("demo-shop", "visitor-1") == 0.7361
    assert holdout_bucket("other-shop", "visitor-1") != 0.7361


def test_unknown_version_is_an_error():
    with pytest.raises(HashVersionError):
        holdout_bucket("s", "v", version=2)


def test_holdout_share_is_close_to_the_fraction():
    arms = [assign_arm("demo-shop", f"visitor-{i}", 0.10) for i in range(20000)]
    share = arms.count("holdout") / len(arms)
    assert 0.09 < share < 0.11


def test_an_unknown_version_says_which_and_what_is_known():
    with pytest.raises(HashVersionError, match=r"unknown holdout hash version 2; known: \(1,\)"):
        assign_arm("s", "v", 0.5, version=2)  # the version reaches the hash, never silently v1


def test_the_holdout_is_below_the_fraction_not_at_it():
    # visitor-1's bucket is 0.7361 with this salt: at a fraction of exactly 0.7361 it is treated.
    assert assign_arm("demo-shop", "visitor-1", 0.7361) == "treatment"
    assert assign_arm("demo-shop", "visitor-1", 0.7362) == "holdout"
