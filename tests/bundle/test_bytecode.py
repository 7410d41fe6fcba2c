"""Bytecode compiled ahead of time (tactful.bundle.bytecode): the lean line table keeps every line.

The table format is CPython's since 3.11, so these run on the build machine's Python; the build runs
the same module inside Pyodide (tests/bundle/test_pyodide.py loads its output).
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import traceback
import zipfile
from types import CodeType

import pytest

from tactful.bundle import ENGINE_PATH, stored_zip, worth_compiling
from tactful.bundle.bytecode import compile_archive, lean, line_table, lines, pyc, svarint, varint

SOURCE = b'''\
def outer(values):
    total = 0
    for v in values:
        try:
            total += 10 / v
        except ZeroDivisionError:
            total -= 1
    def inner(x):
        return [
            x,
            x * 2,
        ]
    return total, inner(total)


class Thing:
    def method(self, n):
        if n > 3:
            raise ValueError(f"too big: {n}")
        return (lambda k: k + 1)(n)
'''


def every_code(code: CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from every_code(const)


def test_varints_follow_cpythons_encoding():
    assert varint(0) == b"\x00" and varint(63) == b"\x3f"
    assert varint(64) == bytes([0x40, 0x01]) and varint(4095) == bytes([0x7F, 0x3F])
    assert svarint(1) == b"\x02" and svarint(-1) == b"\x03" and svarint(-40) == bytes([0x51, 0x01])


def test_every_instruction_keeps_its_line():
    code = compile(SOURCE, "sample.py", "exec")
    leaner = lean(code)
    for original, new in zip(every_code(code), every_code(leaner), strict=True):
        assert lines(new) == lines(original), original.co_qualname
        assert new.co_code == original.co_code
        assert len(new.co_linetable) <= len(original.co_linetable)
        assert all(column is None for *_, column in new.co_positions())  # columns dropped
    assert sum(len(c.co_linetable) for c in every_code(leaner)) < sum(len(c.co_linetable) for c in every_code(code)) * 0.7


def test_long_functions_and_big_line_jumps_keep_their_lines():
    body = "\n".join(f"    x{i} = {i}" + "\n" * (i * 37 % 300) for i in range(400))
    code = compile(f"def f():\n{body}\n    return x0\n".encode(), "long.py", "exec")
    function = next(c for c in every_code(code) if c.co_name == "f")
    assert max(lines(function), key=lambda n: n or 0) > 4000  # deltas needing several varint bytes
    assert lines(lean(function)) == lines(function)
    assert line_table(function) == line_table(lean(function))


def test_a_traceback_from_compiled_code_names_the_right_lines():
    data = pyc(SOURCE, "/lib/tactful-engine.zip/sample.py")
    assert data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == 0b01
    assert data[8:16] == importlib.util.source_hash(SOURCE)
    namespace: dict = {}
    exec(marshal.loads(data[16:]), namespace)
    assert namespace["outer"]([1, 0, 2]) == (14.0, [14.0, 28.0])
    with pytest.raises(ValueError) as caught:
        namespace["Thing"]().method(5)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno, frames[-1].name) == ("/lib/tactful-engine.zip/sample.py", 19, "method")


def test_an_archive_of_sources_becomes_bytecode_and_keeps_the_rest():
    archive = stored_zip({"pkg/__init__.py": b"", "pkg/mod.py": SOURCE, "pkg/LICENSE": b"MIT"})
    compiled = zipfile.ZipFile(io.BytesIO(compile_archive(archive, optimize=2, where=ENGINE_PATH)))
    assert compiled.namelist() == ["pkg/LICENSE", "pkg/__init__.pyc", "pkg/mod.pyc"]
    assert compiled.read("pkg/LICENSE") == b"MIT"
    code = marshal.loads(compiled.read("pkg/mod.pyc")[16:])
    assert code.co_filename == ENGINE_PATH + "pkg/mod.py"
    assert compile_archive(archive, 2, ENGINE_PATH) == compile_archive(archive, 2, ENGINE_PATH)  # deterministic


def test_the_worker_mounts_the_engine_where_it_was_compiled_for(root):
    worker = (root / "browser" / "worker" / "engine.js").read_text()
    assert f'const ENGINE_ZIP = "{ENGINE_PATH.rstrip("/")}"' in worker


def test_bytecode_goes_to_the_modules_that_buy_most_within_the_allowance():
    # Compile work is measured by source size; the cost by the brotli bytes bytecode adds.
    text = b"# words compress well\n" * 400
    sources = {"big.py": SOURCE * 40 + text, "small.py": SOURCE, "prose.py": text * 5}
    bytecode = {name: pyc(data, name) for name, data in sources.items()}
    assert worth_compiling(sources, bytecode, 0) == []
    everything = worth_compiling(sources, bytecode, 10**9)
    assert everything == ["big.py", "prose.py", "small.py"]
    some = worth_compiling(sources, bytecode, 300)
    assert some and len(some) < 3 and "prose.py" in some  # comments cost nothing as bytecode
