"""`./run mutate`: a mutation score for the engine and the proxy's guard, spend, origin, limits and
outbox, measured with mutmut (3.x), which changes one small thing at a time (a comparison, a
constant, a boolean, a call's argument) and runs the tests that cover the changed function.

mutmut looks for the code in ./src, so this builds a workspace in build/cache/mutate/ with the
package under src/ and the tests and demo beside it, runs mutmut there, and prints the score and
every surviving mutant with its diff. Survivors that cannot be killed (the change means the same
thing) are listed in tests/mutation/equivalent.txt with the reason; they count as explained. So are
the few mutmut cannot reach (code that runs at import, such as the closures the signal table is
built from): each was applied to the source by hand and the tests failed, as the file says.

    ./run mutate            the fast subset CI runs (the holdout hash, bot scoring, the guard)
    ./run mutate --all      the engine and the proxy modules named above (hours on two cores)
    ./run mutate --only src/tactful/proxy/_outbox.py ...   one part of --all, with --all's tests
    ./run mutate --only src/tactful/proxy/_outbox.py --tests tests/proxy/test_leads.py ...
                            the same with only the tests named (a proxy part with all the tests
                            runs ~3 mutants a minute: its tests start servers); a survivor is then
                            checked against all the tests by hand before it counts
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "cache" / "mutate"
FAST = ["src/tactful/core/_holdout.py", "src/tactful/core/_bot.py", "src/tactful/proxy/_guard.py"]
ALL = ["src/tactful/core/*", "src/tactful/proxy/_guard.py", "src/tactful/proxy/_words.py",
       "src/tactful/proxy/_edge.py", "src/tactful/proxy/_shared.py", "src/tactful/proxy/_outbox.py",
       "src/tactful/proxy/_sqlite.py", "src/tactful/proxy/_protect.py"]  # fmt: skip
FAST_TESTS = ["tests/core/test_bots.py", "tests/core/test_holdout.py", "tests/core/test_golden.py", "tests/proxy/test_guard.py"]
# (test_purity inspects the modules' own namespaces, which mutmut's trampolines add to: not a mutant test)
TESTS = [*(f"tests/core/{name}" for name in ("test_bots.py", "test_conditions.py", "test_event_fields.py", "test_events.py", "test_golden.py", "test_holdout.py",
                                              "test_host.py", "test_inventory.py", "test_lint.py", "test_live_page.py",
                                              "test_engine_facts.py", "test_pagefacts.py", "test_playbook.py", "test_playbook_fields.py", "test_playbook_problems.py", "test_properties.py", "test_record.py", "test_replay.py",
                                              "test_state.py", "test_tabs.py", "test_url_path.py", "test_why_not.py", "test_wire.py", "test_wire_fields.py")),
         "tests/proxy/test_guard.py", "tests/proxy/test_messages.py", "tests/proxy/test_abuse.py",
         "tests/proxy/test_delivery.py", "tests/proxy/test_leads.py", "tests/proxy/test_limits.py", "tests/proxy/test_shared.py", "tests/proxy/test_store.py",
         "tests/proxy/test_outcome_trust.py", "tests/proxy/test_denial.py", "tests/proxy/test_config.py"]  # fmt: skip
EQUIVALENT = Path(__file__).with_name("equivalent.txt")


def workspace(only: list[str], tests: list[str]) -> None:
    if WORK.exists():
        shutil.rmtree(WORK)
    (WORK / "src").mkdir(parents=True)
    shutil.copytree(ROOT / "engine" / "tactful", WORK / "src" / "tactful", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", WORK / "tests", ignore=shutil.ignore_patterns("__pycache__", "e2e", "bundle"))
    shutil.copytree(ROOT / "demo", WORK / "demo", ignore=shutil.ignore_patterns("site"))
    shutil.copytree(ROOT / "docs" / "inventory", WORK / "docs" / "inventory")  # the reviewed data inventory
    (WORK / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {only!r}\n"
        f"pytest_add_cli_args_test_selection = {tests!r}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
        'also_copy = ["demo", "docs"]\n'
        "[tool.pytest.ini_options]\n"
        'addopts = ["--strict-markers"]\n'
        'markers = ["slow: takes more than a few seconds"]\n'
    )


def equivalent() -> dict[str, str]:
    """mutant name -> why it cannot be killed (it means the same thing)."""
    known = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, why = line.partition(" ")
                known[name] = why.strip()
    return known


def show(mutmut: list[str], name: str) -> str:
    return subprocess.run([*mutmut, "show", name], cwd=WORK, capture_output=True, text=True).stdout.strip()


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|PRAGMA|BEGIN|FROM|WHERE|JOIN|SET|ORDER BY|"
                 r"VALUES|LIMIT|NULL|COALESCE)\b")  # a statement or a line of one: our SQL spells its keywords so


def sql_case_only(diff: str) -> bool:
    """Does the mutant only change the letter case of an SQL statement, outside its quoted literals?

    SQL keywords and unquoted names compare without case (in SQLite and PostgreSQL alike), so
    "select count(*) from leads" is the statement "SELECT COUNT(*) FROM leads"; a literal such as
    'pending' does not, and a change there is no such mutant.
    """
    old = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    new = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not old or len(old) != len(new):
        return False
    changed = False
    for before, after in zip(old, new, strict=True):
        if before == after:
            continue
        if before.lower() != after.lower() or not SQL.search(before):
            return False
        quoted = re.sub(r"'[^']*'", lambda m: "\0" * len(m.group(0)), before)  # literals' places
        if any(b != a and quoted[i] == "\0" for i, (b, a) in enumerate(zip(before, after, strict=True))):
            return False
        changed = True
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description="mutation score (mutmut)")
    parser.add_argument("--all", action="store_true", help="the engine and the proxy's guard, spend, limits, outbox")
    parser.add_argument("--only", nargs="+", metavar="GLOB", help="mutate these files (under src/) with --all's tests")
    parser.add_argument("--tests", nargs="+", metavar="FILE", help="with --only: run only these test files")
    parser.add_argument("--goal", type=float, default=0.90)
    args = parser.parse_args()
    if args.tests and not args.only:
        parser.error("--tests goes with --only")
    if args.only:
        workspace(args.only, args.tests or TESTS)
    else:
        workspace(ALL if args.all else FAST, TESTS if args.all else FAST_TESTS)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutate", "CI": os.environ.get("CI", "")}
    subprocess.run([*mutmut, "run", "--max-children", str(os.cpu_count() or 2)], cwd=WORK, env=env, check=False)
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=WORK, env=env, capture_output=True, text=True).stdout
    status = dict(re.findall(r"^\s*(\S+): (\w[\w ]*)$", results, re.M))
    killed = [m for m, s in status.items() if s in ("killed", "timeout", "segfault")]
    known = equivalent()
    diffs = {m: show(mutmut, m) for m, s in status.items() if s == "survived" and m not in known}
    by_class = {m for m, diff in diffs.items() if sql_case_only(diff)}  # SQL in other letters: the same statement
    survived = [m for m in diffs if m not in by_class]
    explained = [m for m, s in status.items() if s == "survived" and m in known] + sorted(by_class)
    untested = [m for m, s in status.items() if s == "no tests"]
    scored = len(killed) + len(survived) + len(untested)
    score = len(killed) / scored if scored else 0.0
    print(f"\nmutation score: {len(killed)} killed of {scored} ({score:.1%}; goal {args.goal:.0%}); "
          f"{len(explained)} survivors explained (equivalent, or out of mutmut's reach and killed by hand: "
          "tests/mutation/equivalent.txt), "
          f"{len(survived)} unexplained, {len(untested)} with no test")  # fmt: skip
    for name in survived + untested:
        print(f"\n--- {name} ({status[name]})\n{diffs.get(name) or show(mutmut, name)}")
    return 0 if score >= args.goal and not survived else 1


if __name__ == "__main__":
    sys.exit(main())
