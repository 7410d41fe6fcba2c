"""Stripping docstrings and comments changes nothing Python runs (checked on a whole stdlib)."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

from tactful.bundle.strip_source import strip_python


def _without_docstrings(tree: ast.AST) -> str:
    """The tree as `python -OO` sees it: docstrings gone (a body of only a docstring: `pass`)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                if getattr(node, "lineno", 0) == first.lineno:
                    continue  # a one-line `def f(): "doc"` is left alone
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def test_the_standard_library_keeps_its_meaning():
    # Every file of the running Python's standard library: the stripped source parses to exactly the
    # original syntax tree minus its docstrings, on the same lines (tracebacks still point right).
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    checked = changed = 0
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        stripped = strip_python(source)
        assert len(stripped.splitlines()) == len(source.splitlines()), path
        assert ast.dump(ast.parse(stripped), include_attributes=False) == _without_docstrings(ast.parse(source)), path
        checked += 1
        changed += stripped != source
    assert checked > 300 and changed > 300


def test_comments_and_docstrings_go_strings_stay():
    source = '"""Module."""\nx = "# not a comment"  # a comment\n\nclass A:\n    """Only a docstring."""\n'
    assert strip_python(source) == '\nx = "# not a comment"\n\nclass A:\n    pass\n'
