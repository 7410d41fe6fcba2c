"""The house rules a reader relies on: curated public surfaces, public names across package
boundaries, small functions, tests laid out like the packages. (The import layers themselves
are import-linter contracts in pyproject.toml, run by `./run lint`.)"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["tactful.core", "tactful.proxy", "tactful.bundle", "tactful.lift", "tactful.testing"]
MAX_FUNCTION_LINES = 60
LONG_REASON = "# long:"  # a function may pass the limit with a reason on the line above its def


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_what_the_package_defines(name):
    # httpx's way: __all__ is every public name the package binds, derived, not a hand-copied list.
    package = importlib.import_module(name)
    public = sorted(
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_")
        and attr != "annotations"
        and not isinstance(value, ModuleType)  # submodules bind themselves once imported anywhere...
    )
    modules = [attr for attr in package.__all__ if isinstance(getattr(package, attr, None), ModuleType)]
    assert sorted(package.__all__) == sorted(public + modules)  # ...so a public one is listed by hand
    for attr in package.__all__:
        assert getattr(package, attr, None) is not None, attr


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_nothing_outside_a_package_imports_its_private_modules():
    outside = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py"), *ROOT.glob("demo/**/*.py")]
    offenders = []
    for path in outside:
        for module in _imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[0] == "tactful" and any(p.startswith("_") and not p.startswith("__") for p in parts[1:]):
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_no_function_is_long_without_a_reason():
    long = []
    for path in sorted((ROOT / "engine" / "tactful").rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if size > MAX_FUNCTION_LINES and LONG_REASON not in lines[first - 2]:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({size} lines)")
    assert long == []


def test_tests_are_laid_out_like_the_packages():
    for name in ("core", "proxy", "bundle", "lift", "cli", "e2e"):
        assert list((ROOT / "tests" / name).glob("test_*.py")), f"tests/{name} has no tests"


def test_documentation_links_stay_inside_the_repository():
    # Every relative link in the README and docs resolves to a file of this repository.
    broken = []
    for doc in [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("build/*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # an absolute URL, not a file of ours
            path = (doc.parent / target).resolve()
            if ROOT.resolve() not in path.parents or not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
        broken += [f"{doc.relative_to(ROOT)}: {ref}" for ref in re.findall(r"`(\.\./[^`]+)`", doc.read_text())]
    assert broken == []


def test_the_readme_quotes_what_the_benchmarks_printed():
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("figures", ROOT / "bench" / "figures.py")
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    recorded = json.loads((ROOT / "bench" / "figures.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert figures.render(readme, recorded) == readme, "run `python bench/figures.py` after the benchmarks"
    for name in ("core", "proxy", "replicas", "demo", "browser"):
        assert f"<!-- bench:{name} -->" in readme and recorded.get(name, {}).get("lines"), name
