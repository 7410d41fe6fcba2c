"""The mutation report's one rule by class: a mutant that only changes the letter case of an SQL
statement is the same statement, unless the change falls inside a quoted literal."""

from __future__ import annotations

import pytest
from mutate import sql_case_only


def diff(before: str, after: str) -> str:
    return f"# name: survived\n--- src/x.py\n+++ src/x.py\n@@ -1,2 +1,2 @@\n def f():\n-{before}\n+{after}\n"


@pytest.mark.parametrize("before, after, same", [
    ('    q = "SELECT value FROM meta WHERE key = ?"', '    q = "select value from meta where key = ?"', True),
    ('    q = "SELECT value FROM meta WHERE key = ?"', '    q = "SELECT VALUE FROM META WHERE KEY = ?"', True),
    ("    q = \"UPDATE outbox SET state = 'dead' WHERE id = ?\"", "    q = \"update outbox set state = 'dead' where id = ?\"", True),
    ("    q = \"UPDATE outbox SET state = 'dead' WHERE id = ?\"", "    q = \"UPDATE OUTBOX SET STATE = 'DEAD' WHERE ID = ?\"", False),
    ('    return "minimal"', '    return "MINIMAL"', False),  # not SQL: a value
    ('    q = "SELECT value FROM meta"', '    q = "XXSELECT value FROM metaXX"', False),  # not case alone
    ('    q = "SELECT value FROM meta"', '    q = "SELECT value FROM meta"', False),  # nothing changed
])  # fmt: skip
def test_only_a_change_of_case_outside_literals_is_the_same_statement(before, after, same):
    assert sql_case_only(diff(before, after)) is same


def test_every_changed_line_must_qualify():
    two = diff('    a = "SELECT 1"\n-    b = "on"', '    a = "select 1"\n+    b = "ON"')
    assert sql_case_only(two) is False


def test_a_line_of_a_statement_counts_and_prose_does_not():
    assert sql_case_only(diff('    "lease_until = NULL WHERE id = ?", (i,))', '    "lease_until = null where id = ?", (i,))'))
    assert not sql_case_only(diff('    why = "the set of codes from where it came"', '    why = "THE SET OF CODES FROM WHERE IT CAME"'))
