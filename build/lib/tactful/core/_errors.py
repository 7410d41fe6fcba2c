"""The exceptions the core raises.

::

    TactfulError
    ├── PlaybookError        a playbook failed validation; .problems names every bad field
    ├── StateError           a persisted visitor record could not be read at all
    ├── WireError            a browser <-> proxy message is malformed
    │   └── WireVersionError     ... or speaks a wire version we do not know
    └── HashVersionError     an unknown holdout hash version was requested

Event content never raises: ``Engine.feed`` skips and counts malformed events.
"""

from __future__ import annotations


class TactfulError(Exception):
    """Base class of every error Tactful raises on purpose."""


class PlaybookError(TactfulError):
    """A playbook is invalid. ``problems`` is a list of ``(field_path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = list(problems)
        lines = [f"{path}: {message}" if path else message for path, message in self.problems]
        super().__init__("invalid playbook:\n  " + "\n  ".join(lines))


class StateError(TactfulError):
    """A persisted visitor record is unreadable (not msgpack, not a mapping)."""


class WireError(TactfulError):
    """A wire message is malformed; the message says which field and why."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class WireVersionError(WireError):
    """A wire message carries a version this build does not speak."""


class HashVersionError(TactfulError):
    """The holdout hash was asked for a version that does not exist."""
