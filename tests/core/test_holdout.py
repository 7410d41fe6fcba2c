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
