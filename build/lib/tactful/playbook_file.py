"""Reading a playbook file: the one place a playbook meets the file system.

``tactful.core`` parses playbook *text* and does no I/O; the bundle builder, the
proxy, the lift tools and the command line all read files through here.
"""

from __future__ import annotations

from pathlib import Path

from tactful.core import Playbook, PlaybookError, load_playbook

__all__ = ["playbook_format", "read_playbook"]


def playbook_format(path: str | Path) -> str:
    """``"json"`` for a ``.json`` file, else ``"toml"``."""
    return "json" if Path(path).suffix.lower() == ".json" else "toml"


def read_playbook(path: str | Path) -> Playbook:
    """Load and validate a playbook file; the format follows the extension (.toml or .json).

    An unreadable file is a ``PlaybookError`` too, so callers report one kind of problem.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError([("", f"cannot read {path}: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise PlaybookError([("", f"cannot read {path}: not UTF-8 text")]) from exc
    return load_playbook(text, playbook_format(path))
