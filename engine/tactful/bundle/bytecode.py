"""Python compiled ahead of time for the browser: bytecode files with a lean line table.

A cold start in the browser used to spend most of its time compiling Python source: Pyodide's
start-up and ``import tactful.core`` compile every module they import, in WebAssembly (under Node
on the build machine, 3.6 s with sources against 1.0 s with bytecode). The build compiles them
instead, inside Pyodide so that the bytecode is the browser's own Python version.

Bytecode compresses worse than stripped source, so the build keeps every line number but drops
the column offsets (``co_linetable`` in its "no columns" form): a traceback still names the right
line, without the carets under the expression. The table format is the one CPython has used since
3.11 (InternalDocs/code_objects.md), so this module runs on the build machine's Python as well.

Files are hash-based and unchecked (PEP 552): no source travels beside them, and zipimport takes
them as they are.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import zipfile
from types import CodeType

NO_COLUMNS = 13  # entry kind: a line delta (signed varint) and no column information
NO_LOCATION = 15  # entry kind: instructions without a line (artificial ones)
UNIT = 2  # bytes per code unit
LONGEST = 8  # code units one entry may cover
UNCHECKED_HASH = 0b01  # pyc flags: hash-based, not checked against a source


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 64:
        out.append(0x40 | (value & 63))
        value >>= 6
    out.append(value)
    return bytes(out)


def svarint(value: int) -> bytes:
    return varint((-value << 1) | 1 if value < 0 else value << 1)


def line_table(code: CodeType) -> bytes:
    """``code``'s line table without columns: the same line for every instruction."""
    out = bytearray()
    previous = code.co_firstlineno
    for start, end, line in code.co_lines():
        units = (end - start) // UNIT
        while units > 0:
            length = min(units, LONGEST)
            units -= length
            if line is None:
                out.append(0x80 | (NO_LOCATION << 3) | (length - 1))
                continue
            out.append(0x80 | (NO_COLUMNS << 3) | (length - 1))
            out += svarint(line - previous)
            previous = line
    return bytes(out)


def lines(code: CodeType) -> list[int | None]:
    """The line of every code unit of ``code`` (its own, not its nested functions')."""
    per_unit: list[int | None] = []
    for start, end, line in code.co_lines():
        per_unit += [line] * ((end - start) // UNIT)
    return per_unit


def lean(code: CodeType) -> CodeType:
    """``code`` and every code object inside it with the column-free line table; checked."""
    consts = tuple(lean(c) if isinstance(c, CodeType) else c for c in code.co_consts)
    leaner = code.replace(co_consts=consts, co_linetable=line_table(code))
    if lines(leaner) != lines(code):
        raise ValueError(f"{code.co_filename}:{code.co_firstlineno} {code.co_qualname}: line table differs")
    return leaner


def pyc(source: bytes, name: str, optimize: int = 0) -> bytes:
    """A hash-based, unchecked ``.pyc`` of ``source`` (``optimize`` as in ``compile``)."""
    code = lean(compile(source, name, "exec", dont_inherit=True, optimize=optimize))
    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little")
    return header + importlib.util.source_hash(source) + marshal.dumps(code)


def compile_archive(data: bytes, optimize: int = 0, where: str = "") -> bytes:
    """The zip ``data`` with every ``.py`` replaced by its ``.pyc`` (stored, not deflated); ``where``:
    the archive's path in the browser, which tracebacks name."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name in source.namelist():
            body = source.read(name)
            if name.endswith(".py"):
                body, name = pyc(body, where + name, optimize), name + "c"
            out.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), body)
    return buffer.getvalue()
