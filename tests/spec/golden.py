"""Runs the golden spec file (tests/spec/golden.json) against tactful.core.

Pure: standard library plus tactful.core, so the very same module runs under
CPython (tests/unit/test_golden.py) and inside Pyodide (tests/pyodide/).
Each case names its visitor, optional playbook overrides, a list of feeds
(events + now) and the exact decisions and skip counts they must give.
"""

from __future__ import annotations

import copy
import json

from tactful.core import Engine, Playbook, VisitorState, holdout_bucket

SPEC_VERSION = 1
COMPARED = ("t", "action", "trigger", "kind", "offer", "arm", "reasons", "eligible")


def merge(base, overrides):
    """Deep-merge ``overrides`` into a copy of ``base`` (lists are replaced)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def run_case(playbook_source: dict, case: dict) -> dict:
    """The decisions and skip counts a case actually gives."""
    playbook = Playbook.from_dict(merge(playbook_source, case.get("overrides", {})))
    engine = Engine(playbook, visitor_id=case["visitor"])
    decisions = []
    skipped: dict[str, int] = {}
    for feed in case["feeds"]:
        if feed.get("reload"):
            # A page load in the browser: the worker restarts from the stored record.
            _add(skipped, engine.skipped)
            engine = Engine(playbook, state=VisitorState.from_bytes(engine.state.to_bytes()))
        for decision in engine.feed(feed["events"], feed["now"]):
            row = decision.to_dict()
            decisions.append({k: row[k] for k in COMPARED if k in row})
    _add(skipped, engine.skipped)
    return {"decisions": decisions, "skipped": dict(sorted(skipped.items()))}


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for reason, count in more.items():
        total[reason] = total.get(reason, 0) + count


def run_spec(spec: dict, playbook_source: dict) -> list[str]:
    """Every mismatch between the spec and the engine, as readable lines (empty = pass)."""
    if spec.get("specVersion") != SPEC_VERSION:
        return [f"specVersion {spec.get('specVersion')!r} is not {SPEC_VERSION}"]
    failures = []
    for vector in spec.get("hash_vectors", []):
        got = holdout_bucket(vector["salt"], vector["id"], vector.get("version", 1))
        if got != vector["bucket"]:
            failures.append(f"hash {vector}: got {got}")
    for case in spec["cases"]:
        got = run_case(playbook_source, case)
        want = {"decisions": case["expect"], "skipped": case.get("skipped", {})}
        if got != want:
            failures.append(f"case {case['name']!r}:\n  want {json.dumps(want)}\n  got  {json.dumps(got)}")
    return failures
