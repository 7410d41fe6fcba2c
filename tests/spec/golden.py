"""Runs the golden spec file (tests/spec/golden.json) against tactful.core.

Pure: standard library plus tactful.core, so the very same module runs under
CPython (tests/core/test_golden.py) and inside Pyodide (tests/bundle/test_pyodide.py).
Each case names its visitor, optional playbook overrides, a list of feeds
(events + now) and the exact decisions and skip counts they must give. Every
expected decision carries ``why``: a one-line derivation from the playbook,
written by hand (it is not compared; a missing one is a failure).
"""

from __future__ import annotations

import copy
import json

from tactful.core import Playbook, Replay, Row, holdout_bucket, replay_lines

SPEC_VERSION = 1
COMPARED = ("t", "action", "trigger", "kind", "offer", "variant", "arm", "reasons", "eligible")


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
    replay = Replay(Playbook.from_dict(merge(playbook_source, case.get("overrides", {}))),
                    paused=frozenset(case.get("paused", ())))
    visitor = case["visitor"]
    decisions = []
    for feed in case["feeds"]:
        if feed.get("reload"):
            replay.reload(visitor)  # a page load in the browser: the worker restarts from the stored record
        for decision in replay.feed(visitor, feed["events"], feed["now"]):
            row = decision.to_dict()
            decisions.append({k: row[k] for k in COMPARED if k in row})
    return {"decisions": decisions, "skipped": replay.skipped}


def replay_log(playbook: Playbook, lines) -> list[dict]:
    """Every decision of a JSONL log (``tactful replay``'s way), as plain rows."""
    return [
        {"visitor": item.visitor, **item.decision.to_dict()}
        for item in replay_lines(Replay(playbook), lines)
        if isinstance(item, Row)
    ]


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
        unexplained = [e for e in case["expect"] if not str(e.get("why", "")).strip()]
        if unexplained:
            failures.append(f"case {case['name']!r}: expected decisions without a `why`: {unexplained}")
        got = run_case(playbook_source, case)
        want = {"decisions": [{k: e[k] for k in COMPARED if k in e} for e in case["expect"]],
                "skipped": case.get("skipped", {})}
        if got != want:
            failures.append(f"case {case['name']!r}:\n  want {json.dumps(want)}\n  got  {json.dumps(got)}")
    return failures
