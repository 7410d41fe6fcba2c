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


def utc_text(t: float) -> str:
    """``t`` (epoch seconds) as ``2026-12-03 09:41:07 UTC``, computed without the time module
    (the core reads no clock): days to a civil date, after Howard Hinnant's algorithm."""
    seconds = int(t // 1)
    days, rest = divmod(seconds, 86400)
    era, doe = divmod(days + 719468, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day, month = doy - (153 * mp + 2) // 5 + 1, mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return f"{year:04}-{month:02}-{day:02} {rest // 3600:02}:{rest % 3600 // 60:02}:{rest % 60:02} UTC"


def story(entry: dict[str, Any]) -> dict[str, Any]:
    """One logged decision as ``tactful.explain()`` lists it: with a readable time and a sentence."""
    because = " and ".join(entry["because"]) or "its condition held"
    reasons = entry["reasons"]
    if entry["action"] == "intervene":
        why = f"shown, because {because}"
    else:
        why = f"not shown: {REASON_DOCS.get(reasons[0], reasons[0]) if reasons else 'suppressed'}"
        why += f" (also: {', '.join(reasons[1:])})" if len(reasons) > 1 else ""
        why += f"; it would have fired because {because}"
    return {**entry, "at": utc_text(entry["t"]), "why": why}


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
    # The caps hold now, so at least per_visitor (max_dismissals) instants lie in their window; the
    # cap lifts when the per_visitor-th latest leaves it. A cap of 0 interventions never lifts.
    if code == "visitor_cap":
        recent = sorted(when for when in shown if at - when < lim.visitor_window)
        return recent[-lim.per_visitor] + lim.visitor_window if lim.per_visitor else None
    if code == "dismissed_too_often":  # (max_dismissals is at least 1)
        recent = sorted(when for when in dismissed if at - when < lim.dismissal_window)
        return recent[-lim.max_dismissals] + lim.dismissal_window
    return None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
