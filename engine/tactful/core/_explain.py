"""“Why didn't it show?”: every trigger of the playbook, judged against the visitor's state now.

For each trigger: whether it can fire on this page, each condition leaf with its current value
and threshold, the gates that would stop it now with the instant each lifts (``until``, epoch
seconds; None when only a new visit or a change of facts lifts it), and a status:

=================  =================================================================
``not_this_page``  the trigger does not fire on this page's kind or URL
``decided``        it was decided on this page already (``tactful.explain()`` has it)
``waiting``        its condition does not hold yet (see ``conditions``)
``blocked``        gates would stop it (see ``gates``), whatever the condition says
``ready``          the condition holds and nothing blocks it: it fires at the next instant
=================  =================================================================

Pure and read-only: it never changes the engine's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._bot import bot_score
from ._decision import REASON_DOCS
from ._playbook import url_path

if TYPE_CHECKING:
    from ._engine import Engine
    from ._playbook import Trigger


def why_not(engine: Engine, at: float) -> dict[str, Any]:
    """The explanation of every trigger at ``at`` (see the module docstring)."""
    state = engine.state
    session = state.session
    page = session.page if session else None
    out: dict[str, Any] = {
        "at": at,
        "arm": state.arm,
        "page_kind": page.kind if page else None,
        "interacted": bool(page and page.interacted),
        "bot_score": bot_score(session.client, session.interactions, session.machine) if session else 0.0,
        "bot_threshold": engine.playbook.bot_threshold,
        "triggers": [],
    }
    for trig in engine.playbook.triggers:
        out["triggers"].append(_trigger(engine, trig, at))
    return out


def _trigger(engine: Engine, trig: Trigger, at: float) -> dict[str, Any]:
    state = engine.state
    session = state.session
    page = session.page if session else None
    conditions = [
        {"signal": leaf.label, "op": leaf.op, "value": leaf.value, "now": _rounded(leaf.now(state, at)),
         "holds": leaf.holds(state, at)}
        for leaf in trig.when.leaves()
    ]  # fmt: skip
    item: dict[str, Any] = {"trigger": trig.id, "kind": trig.kind, "phase": trig.phase, "conditions": conditions,
                            "holds": trig.when.holds(state, at), "gates": []}  # fmt: skip
    if session is None or page is None or not trig.matches_page(page.kind, url_path(page.url)):
        item["status"] = "not_this_page"
        return item
    codes = engine._gates(trig, at, session, page)  # noqa: SLF001 - the engine's own gate list, same package
    item["gates"] = [{"code": code, "until": _until(engine, code, at), "doc": REASON_DOCS[code]} for code in codes]
    if trig.id in page.resolved:
        item["status"] = "decided"
    elif item["gates"]:
        item["status"] = "blocked"
    else:
        item["status"] = "ready" if item["holds"] and page.interacted else "waiting"
    return item


def _until(engine: Engine, code: str, at: float) -> float | None:
    """When a time-bound gate lifts; None for the others (a new visit, a new phase, another arm...)."""
    state, lim = engine.state, engine.playbook.limits
    shown: list[float] = [float(when) for when, _ in state.interventions]
    dismissed: list[float] = [float(when) for when, _ in state.dismissals]
    if code == "min_gap" and shown:
        return max(shown) + lim.min_gap
    if code == "cooldown" and dismissed:
        return max(dismissed) + lim.cooldown
    if code == "visitor_cap":
        recent = sorted(when for when in shown if at - when < lim.visitor_window)
        return recent[len(recent) - lim.per_visitor] + lim.visitor_window if len(recent) >= lim.per_visitor else None
    if code == "dismissed_too_often":
        recent = sorted(when for when in dismissed if at - when < lim.dismissal_window)
        return (recent[len(recent) - lim.max_dismissals] + lim.dismissal_window
                if len(recent) >= lim.max_dismissals else None)  # fmt: skip
    return None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
