"""Decisions and their reason codes.

The engine makes one decision each time a trigger's condition first holds on a
page view. Every decision says why:

* ``intervene`` carries ``signal:<name>`` codes: the behavioural signals that held;
* ``suppress`` carries the gate codes that stopped it, in gate order.

``eligible`` is true when the trigger *would* have been shown but for the
holdout: that is the counterfactual record lift is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INTERVENE = "intervene"
SUPPRESS = "suppress"

# The gates, in the order the engine applies them.
GATES = (
    "bot",
    "converted",
    "holdout",
    "out_of_scope",
    "privacy",
    "phase_off",
    "paused",
    "session_cap",
    "visitor_cap",
    "min_gap",
    "cooldown",
    "dismissed_too_often",
)

REASON_DOCS = {
    "bot": "the visit looks automated (webdriver, automation user agent, headless hints, no human input)",
    "converted": "the visitor has already converted, on this or an earlier visit",
    "holdout": "the visitor is in the holdout arm: nothing is shown, the would-be intervention is logged",
    "out_of_scope": "support, account or returns pages: the agent stays out of post-purchase help",
    "privacy": "the browser sends Global Privacy Control and the playbook honours it: no lead capture",
    "phase_off": "the trigger's rollout phase is later than the playbook's current phase",
    "paused": "the proxy paused the trigger: its always-valid lift lay below zero, or it was dismissed too often",
    "session_cap": "the visit already had limits.per_session interventions",
    "visitor_cap": "the visitor had limits.per_visitor interventions within limits.visitor_window",
    "min_gap": "less than limits.min_gap seconds since the last intervention",
    "cooldown": "less than limits.cooldown seconds since the visitor dismissed one",
    "dismissed_too_often": "limits.max_dismissals dismissals within limits.dismissal_window: stay silent",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision about one trigger at one instant."""

    t: float
    action: str  # "intervene" | "suppress"
    trigger: str
    kind: str  # widget kind: discount, compare, questions, welcome_back, lead
    arm: str
    reasons: tuple[str, ...]
    eligible: bool
    page_kind: str
    offer: str | None = None
    message: str = ""  # the playbook's template text, filled in
    variant: str | None = None  # the trigger's variant for this visitor, when it has variants

    @property
    def intervene(self) -> bool:
        return self.action == INTERVENE

    def to_dict(self) -> dict[str, Any]:
        """The JSON/msgpack form; ``offer`` and ``variant`` are omitted when there is none."""
        out: dict[str, Any] = {
            "t": self.t,
            "action": self.action,
            "trigger": self.trigger,
            "kind": self.kind,
        }
        if self.offer is not None:
            out["offer"] = self.offer
        if self.variant is not None:
            out["variant"] = self.variant
        out.update(
            arm=self.arm,
            reasons=list(self.reasons),
            eligible=self.eligible,
            page_kind=self.page_kind,
            message=self.message,
        )
        return out
