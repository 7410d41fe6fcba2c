"""The golden spec file, run under CPython. tests/bundle/test_pyodide.py runs the same file in Pyodide."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import COMPARED, run_case, run_spec

from tactful.core import GATES, WIDGET_KINDS, fnv1a_32

SPEC = json.loads((Path(__file__).resolve().parents[1] / "spec" / "golden.json").read_text())


@pytest.fixture(scope="module")
def spec():
    return SPEC


@pytest.mark.parametrize("case", SPEC["cases"], ids=[case["name"] for case in SPEC["cases"]])
def test_golden_case(case, demo_source):
    got = run_case(demo_source, case)
    want = [{k: e[k] for k in COMPARED if k in e} for e in case["expect"]]
    assert got == {"decisions": want, "skipped": case.get("skipped", {})}
    assert all(len(e["why"].split()) >= 4 for e in case["expect"]), "every expected decision says why"


def test_golden_file_version_and_hash_vectors(spec, demo_source):
    assert run_spec({**spec, "cases": []}, demo_source) == []


def test_golden_file_covers_every_trigger_and_reason(spec):
    decisions = [d for case in spec["cases"] for d in case["expect"]]
    reasons = {r for d in decisions if d["action"] == "suppress" for r in d["reasons"]}
    assert reasons == set(GATES)
    fired = {d["trigger"] for d in decisions if d["action"] == "intervene"}
    assert fired >= {"cart_exit", "pricing_compare", "product_questions", "welcome_back_cart", "longform_lead"}
    assert {d["kind"] for d in decisions} == set(WIDGET_KINDS)


def test_fnv_reference_vectors(spec):
    for text, value in spec["fnv1a_32"].items():
        assert fnv1a_32(text.encode()) == value


def test_a_changed_expectation_is_caught(spec, demo_source):
    case = dict(spec["cases"][0])
    got = run_case(demo_source, case)["decisions"]
    assert got and set(got[0]) <= set(COMPARED)
    broken = {**spec, "cases": [{**case, "expect": [{**case["expect"][0], "t": 15.0}]}]}
    assert len(run_spec(broken, demo_source)) == 1
