"""The figures the README quotes are what the benchmarks printed, not numbers typed by hand.

Each benchmark runs its main under ``recorded(name)``: what it prints goes to the terminal and into
``bench/figures.json`` (with the date and the machine's core count). ``python bench/figures.py``
(the last step of ``./run bench``) writes those lines into the README between the markers
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; ``tests/test_architecture.py`` fails when
the README and figures.json disagree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "bench" / "figures.json"
README = ROOT / "README.md"


class _Tee(io.TextIOBase):
    def __init__(self, out):
        self.out = out
        self.text = io.StringIO()

    def write(self, s: str) -> int:
        self.out.write(s)
        self.text.write(s)
        return len(s)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def recorded(name: str):
    """Print as usual, and keep what was printed as benchmark ``name``'s figures."""
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    lines = [line.rstrip() for line in tee.text.getvalue().splitlines() if line.strip()]
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = {"date": dt.date.today().isoformat(), "cores": os.cpu_count(), "lines": lines}
    FIGURES.write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")


def block(name: str, figures: dict) -> str:
    entry = figures[name]
    return (f"<!-- bench:{name} -->\n```\n" + "\n".join(entry["lines"])
            + f"\n```\n<sub>printed by `./run bench` on {entry['date']}, {entry['cores']} cores</sub>\n<!-- /bench:{name} -->")


def render(readme: str, figures: dict) -> str:
    """``readme`` with every benchmark block replaced by what ``figures`` holds."""
    def replace(match: re.Match) -> str:
        name = match.group(1)
        return block(name, figures) if name in figures else match.group(0)

    return re.sub(r"<!-- bench:(\w+) -->.*?<!-- /bench:\1 -->", replace, readme, flags=re.S)


def main() -> None:
    figures = json.loads(FIGURES.read_text())
    README.write_text(render(README.read_text(), figures))
    print(f"README benchmark figures written from {FIGURES.relative_to(ROOT)} ({', '.join(sorted(figures))})")


if __name__ == "__main__":
    main()
