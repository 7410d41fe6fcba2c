"""Signals and the condition trees built from them.

A trigger's ``when`` is a tree of ``all`` / ``any`` nodes whose leaves compare a
signal with a number::

    {"all": [{"signal": "cart_items", "op": ">=", "value": 1},
             {"any": [{"signal": "exit_intent"},
                      {"signal": "idle_for", "op": ">=", "value": 90}]}]}

``op`` defaults to ``">="`` and ``value`` to 1. Signals come in two families:

* **state signals** change only when an event arrives (scroll depth, hovers, cart…);
* **time signals** grow with the clock between events (``page_dwell``,
  ``idle_for``, ``hidden_for``, ``session_time``). They are evaluated against an
  exact threshold instant, so the engine can find the first instant a tree
  becomes true without reading a clock (see ``Condition.crossings``).

A signal is *behavioural* when it moves only because the visitor did something.
A leaf counts as a behavioural requirement when its signal is behavioural and
its test is false for a visitor who did nothing (the signal's baseline): this is
how the playbook refuses the "ghost greeter" and how time on page alone can never
be enough to fire.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import translate
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import PageState, SessionState, VisitorState

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
TIME_OPS = (">=", "<", "<=")  # a time leaf must become true at a closed instant


def _page(state: VisitorState) -> PageState | None:
    return state.session.page if state.session else None


def _hover_counts(state: VisitorState, match: Callable[[str], object] | None) -> list[int]:
    page = _page(state)
    if page is None:
        return []
    return [n for target, n in page.hovers.items() if match is None or match(target)]


# A state signal's measure: (visitor state, the leaf's parameter matcher or name) -> value.
Measure = Callable[["VisitorState", Any], float]
# A time signal's base: the instant it counts from, or None when it is not running.
Base = Callable[["VisitorState"], "float | None"]


def _on_page(read: Callable[[PageState], float], baseline: float = 0.0) -> Measure:
    def measure(state: VisitorState, _param: Any) -> float:
        page = _page(state)
        return read(page) if page is not None else baseline

    return measure


def _on_session(read: Callable[[SessionState, Any], float], baseline: float = 0.0) -> Measure:
    def measure(state: VisitorState, param: Any) -> float:
        return read(state.session, param) if state.session is not None else baseline

    return measure


def _page_base(read: Callable[[PageState], float | None]) -> Base:
    def base(state: VisitorState) -> float | None:
        page = _page(state)
        return read(page) if page is not None else None

    return base


@dataclass(frozen=True, slots=True)
class Signal:
    """A named behaviour signal. A state signal has ``measure``; a time signal has ``base``."""

    name: str
    doc: str
    behavioural: bool
    baseline: float
    measure: Measure | None = None
    base: Base | None = None
    param: str | None = None  # "target" (glob over hover targets) or "name" (track name)
    top: float = math.inf  # the largest value the signal can take (its smallest is its baseline)
    whole: bool = False  # a count: whole numbers only

    @property
    def time(self) -> bool:
        return self.base is not None


SIGNALS: dict[str, Signal] = {
    s.name: s
    for s in (
        Signal("page_dwell", "seconds since this page was shown", False, 0.0,
               base=_page_base(lambda p: p.start)),
        Signal("idle_for", "seconds since the last interaction on this page (stillness)", False, 0.0,
               base=_page_base(lambda p: p.last_interaction)),
        Signal("hidden_for", "seconds the page has been hidden (0 while visible)", False, 0.0,
               base=_page_base(lambda p: p.hidden_since)),
        Signal("session_time", "seconds since this visit started", False, 0.0,
               base=lambda state: state.session.start if state.session else None),
        Signal("scroll_depth", "deepest scroll on this page, 0..1", True, 0.0,
               measure=_on_page(lambda p: p.scroll_depth), top=1.0),
        Signal("active_time", "seconds of active interaction on this page", True, 0.0,
               measure=_on_page(lambda p: p.active_time)),
        Signal("hovers", "hovers on this page over targets matching `target`", True, 0.0,
               measure=lambda state, match: sum(_hover_counts(state, match)), param="target", whole=True),
        Signal("hover_max", "most hovers over one target matching `target`", True, 0.0,
               measure=lambda state, match: max(_hover_counts(state, match), default=0), param="target", whole=True),
        Signal("hover_targets", "distinct targets matching `target` hovered", True, 0.0,
               measure=lambda state, match: len(_hover_counts(state, match)), param="target", whole=True),
        Signal("exit_intent", "exit-intent gestures on this page", True, 0.0,
               measure=_on_page(lambda p: p.exit_intents), whole=True),
        Signal("exit_intent_dwell", "seconds on the page when the latest exit-intent gesture came", True, 0.0,
               measure=_on_page(lambda p: p.exit_dwell)),
        Signal("cart_items", "items in the cart (carried across visits)", True, 0.0,
               measure=lambda state, _: state.cart_items, whole=True),
        Signal("cart_value", "value of the cart", True, 0.0,
               measure=lambda state, _: state.cart_value),
        Signal("cart_added", "times items were added to the cart on this page", True, 0.0,
               measure=_on_page(lambda p: p.cart_added), whole=True),
        Signal("visits", "visits so far, this one included", True, 1.0,
               measure=lambda state, _: state.visits, whole=True),
        Signal("page_views", "pages viewed this visit", False, 1.0,
               measure=_on_session(lambda session, _: session.page_views, 1.0), whole=True),
        Signal("track", "custom `track` events named `name` this visit", True, 0.0,
               measure=_on_session(lambda session, name: session.tracks.get(name or "", 0)), param="name",
               whole=True),
    )
}  # fmt: skip


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern))


class Condition:
    """A compiled condition tree node."""

    def holds(self, state: VisitorState, at: float) -> bool:
        raise NotImplementedError

    def crossings(self, state: VisitorState, out: set[float]) -> None:
        """Add the instants at which a time leaf flips, given the current state."""
        raise NotImplementedError

    def requires_behaviour(self) -> bool:
        """True when every way of satisfying this node needs a behavioural leaf."""
        raise NotImplementedError

    def satisfied(self, state: VisitorState, at: float) -> list[str]:
        """Names of the behavioural leaves that hold (for reason codes)."""
        raise NotImplementedError

    def leaves(self) -> list[Leaf]:
        """The leaves of this tree, in playbook order (for "why not?")."""
        raise NotImplementedError


class Leaf(Condition):
    __slots__ = ("signal", "op", "value", "param", "_test", "_match")

    def __init__(self, signal: Signal, op: str, value: float, param: str | None):
        self.signal = signal
        self.op = op
        self.value = value
        self.param = param
        self._test = OPS[op]
        self._match = _glob(param).match if (param is not None and signal.param == "target") else None

    @property
    def text(self) -> str:
        """The leaf as the playbook says it: ``idle_for >= 60`` (thresholds as written, 60 not 60.0)."""
        return f"{self.label} {self.op} {self.value:g}"

    @property
    def label(self) -> str:
        suffix = f"[{self.param}]" if self.param is not None else ""
        return f"{self.signal.name}{suffix}"

    def _base(self, state: VisitorState) -> float | None:
        base = self.signal.base
        return base(state) if base is not None else None

    def measure(self, state: VisitorState) -> float:
        """The current value of a state signal (a time signal has none: its baseline)."""
        measure = self.signal.measure
        if measure is None:
            return self.signal.baseline
        return measure(state, self._match if self.signal.param == "target" else self.param)

    def holds(self, state: VisitorState, at: float) -> bool:
        if not self.signal.time:
            return self._test(self.measure(state), self.value)
        base = self._base(state)
        if base is None:
            return self._test(0.0, self.value)
        # Compare instants, not differences: the threshold is the very number
        # `crossings` reports, so the first true instant is exact in floats.
        return self._test(at, base + self.value)

    def crossings(self, state: VisitorState, out: set[float]) -> None:
        if self.signal.time:
            base = self._base(state)
            if base is not None:
                out.add(base + self.value)

    def requires_behaviour(self) -> bool:
        return self.signal.behavioural and not self._test(self.signal.baseline, self.value)

    def satisfied(self, state: VisitorState, at: float) -> list[str]:
        if self.requires_behaviour() and self.holds(state, at):
            return [self.label]
        return []

    def leaves(self) -> list[Leaf]:
        return [self]

    def now(self, state: VisitorState, at: float) -> float | None:
        """The signal's value at ``at``: seconds elapsed for a time signal (None before it starts)."""
        if not self.signal.time:
            return self.measure(state)
        base = self._base(state)
        return None if base is None else at - base


class AllOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: list[Condition]):
        self.children = children

    def holds(self, state: VisitorState, at: float) -> bool:
        return all(child.holds(state, at) for child in self.children)

    def crossings(self, state: VisitorState, out: set[float]) -> None:
        for child in self.children:
            child.crossings(state, out)

    def requires_behaviour(self) -> bool:
        return any(child.requires_behaviour() for child in self.children)

    def satisfied(self, state: VisitorState, at: float) -> list[str]:
        return [name for child in self.children for name in child.satisfied(state, at)]

    def leaves(self) -> list[Leaf]:
        return [leaf for child in self.children for leaf in child.leaves()]


class AnyOf(AllOf):
    __slots__ = ()

    def holds(self, state: VisitorState, at: float) -> bool:
        return any(child.holds(state, at) for child in self.children)

    def requires_behaviour(self) -> bool:
        return all(child.requires_behaviour() for child in self.children)

    def satisfied(self, state: VisitorState, at: float) -> list[str]:
        return [
            name for child in self.children if child.holds(state, at) for name in child.satisfied(state, at)
        ]


def compile_condition(raw: Any, path: str, problems: list[tuple[str, str]]) -> Condition | None:
    """Compile a condition tree, appending ``(field_path, message)`` for each problem."""
    if not isinstance(raw, dict):
        problems.append((path, "must be a table with `all`, `any` or `signal`"))
        return None
    keys = {"all", "any", "signal"} & set(raw)
    if len(keys) != 1:
        problems.append((path, "needs exactly one of `all`, `any` or `signal`"))
        return None
    (key,) = keys
    if key in ("all", "any"):
        unknown = set(raw) - {key}
        if unknown:
            problems.append((f"{path}.{sorted(unknown)[0]}", "unknown field"))
        items = raw[key]
        if not isinstance(items, list) or not items:
            problems.append((f"{path}.{key}", "must be a non-empty list of conditions"))
            return None
        children = [compile_condition(item, f"{path}.{key}[{i}]", problems) for i, item in enumerate(items)]
        if any(child is None for child in children):
            return None
        return (AllOf if key == "all" else AnyOf)([c for c in children if c is not None])
    return _compile_leaf(raw, path, problems)


def _compile_leaf(raw: dict[str, Any], path: str, problems: list[tuple[str, str]]) -> Leaf | None:
    before = len(problems)
    signal = SIGNALS.get(raw["signal"]) if isinstance(raw["signal"], str) else None
    if signal is None:
        problems.append((f"{path}.signal", f"unknown signal {raw['signal']!r}; known: {', '.join(SIGNALS)}"))
        return None
    allowed = {"signal", "op", "value"} | ({signal.param} if signal.param else set())
    for key in sorted(set(raw) - allowed):
        problems.append((f"{path}.{key}", f"unknown field for signal {signal.name!r}"))
    op = raw.get("op", ">=")
    if op not in OPS:
        problems.append((f"{path}.op", f"must be one of {', '.join(OPS)}"))
    elif signal.time and op not in TIME_OPS:
        problems.append((f"{path}.op", f"time signal {signal.name!r} supports only {', '.join(TIME_OPS)}"))
    value = raw.get("value", 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e9:
        problems.append((f"{path}.value", "must be a finite number"))
    param = None
    if signal.param:
        param = raw.get(signal.param, "*" if signal.param == "target" else None)
        if not isinstance(param, str) or not param:
            problems.append((f"{path}.{signal.param}", f"signal {signal.name!r} needs a `{signal.param}` string"))
    if len(problems) > before:
        return None
    return Leaf(signal, op, float(value), param)
