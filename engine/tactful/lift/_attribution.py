"""Per-visitor attribution, money and time: the numbers a verdict can stand on.

The unit is a **visitor** whose first trigger fired (treatment) or would have fired (holdout). A
purchase counts for that visitor once if it comes within ``window_days`` after that first eligible
decision; a purchase the next day is the same visitor's, a purchase before it is not the agent's.

Purchases come from the shop's own server when it sends them (``POST /v1/conversion``: confirmed),
else from the browser's beacons (claimed). Arms are the proxy's own (recomputed from the visitor id),
never the browser's. Rows are left out, and counted, when they are bots, test builds, session-only
visits, or from an address that sent beacons for more visitors in a day than ``burst_limit`` (one
machine forging visitors).

Money: ``value`` is an order's total before its discount, ``discount`` what the discount took off
(given by the shop, else computed from the playbook's offer: the amount, or the percentage of the
value). A visitor's net revenue is value − discount. The net incremental revenue per 1,000 eligible
visitors is 1,000 × (mean net revenue, treatment − holdout) − the model's cost per 1,000, with a
Welch interval for the difference of means.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from . import stats

DAY = 86400.0
WINDOW_DAYS = 7.0
BURST_LIMIT = 50  # visitors per address per day beyond which an address's beacons are left out
MIN_DAYS = 7.0  # a week of weekdays and a weekend before a verdict
ALPHA = 0.05
TAU = 0.02


@dataclass
class Visitor:
    id: str
    arm: str
    first: float  # the first eligible decision (epoch seconds)
    trigger: str | None
    variant: str | None
    phase: int | None
    shown: bool = False
    dismissed: bool = False
    accepted: bool = False
    converted: bool = False
    value: float = 0.0
    discount: float = 0.0

    @property
    def net(self) -> float:
        return self.value - self.discount


@dataclass
class Arms:
    """One comparison of visitors: conversions, and net revenue per visitor."""

    label: str
    treated: list[Visitor]
    holdout: list[Visitor]

    @property
    def counts(self) -> tuple[int, int, int, int]:
        t, h = self.treated, self.holdout
        return sum(v.converted for v in t), len(t), sum(v.converted for v in h), len(h)

    @property
    def lift(self) -> float | None:
        xt, nt, xh, nh = self.counts
        return xt / nt - xh / nh if nt and nh else None

    @property
    def always_valid(self) -> tuple[float, float] | None:
        xt, nt, xh, nh = self.counts
        return stats.msprt_diff(xt, nt, xh, nh, ALPHA, TAU) if nt and nh else None

    @property
    def newcombe(self) -> tuple[float, float] | None:
        xt, nt, xh, nh = self.counts
        return stats.newcombe_diff(xt, nt, xh, nh, ALPHA) if nt and nh else None

    def revenue(self) -> tuple[float, tuple[float, float]] | None:
        """(mean net revenue per visitor, treatment − holdout) and its 95% Welch interval."""
        if len(self.treated) < 2 or len(self.holdout) < 2:
            return None
        (mt, vt), (mh, vh) = _mean_var([v.net for v in self.treated]), _mean_var([v.net for v in self.holdout])
        diff = mt - mh
        half = stats.z(ALPHA) * math.sqrt(vt / len(self.treated) + vh / len(self.holdout))
        return diff, (diff - half, diff + half)


@dataclass
class Attribution:
    window_days: float
    confirmed: bool  # purchases from the shop's server (else the browser's claims)
    visitors: list[Visitor]
    overall: Arms
    by_trigger: list[Arms]
    variants: list[Arms]  # each variant against the holdout visitors of the same variant
    variant_pairs: list[tuple[str, str, str, tuple[float, float] | None]]  # trigger, a, b, a − b always-valid
    start: float | None
    end: float | None
    left_out: dict[str, int]
    anomalies: list[str]
    model_cost: float
    unconfirmed: int = 0  # visitors whose beacon claimed a purchase the shop's server never confirmed
    weekly: list[dict] = field(default_factory=list)  # per trigger and week: shown, dismissed, accepted

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY if self.start is not None and self.end is not None else 0.0

    @property
    def per_day(self) -> float:
        return len(self.visitors) / max(1.0, self.days)

    def net_per_1000(self) -> tuple[float, tuple[float, float]] | None:
        """Net incremental revenue per 1,000 eligible visitors, after the model's cost, with its interval."""
        rev = self.overall.revenue()
        if rev is None:
            return None
        cost = 1000 * self.model_cost / len(self.visitors) if self.visitors else 0.0
        diff, (lo, hi) = rev
        return 1000 * diff - cost, (1000 * lo - cost, 1000 * hi - cost)


def discount_of(conversion: dict[str, Any], offers: dict[str, Any]) -> float:
    """What the discount took off an order: the shop's figure, else the offer's by its code."""
    if conversion.get("discount") is not None:
        return max(0.0, float(conversion["discount"]))
    code = (conversion.get("code") or "").strip().upper()
    offer = next((o for o in offers.values() if o.code and o.code.upper() == code), None) if code else None
    if offer is None:
        return 0.0
    value = float(conversion["value"])
    if offer.amount:
        return min(value, float(offer.amount))
    return value * float(offer.percent or 0) / 100


def left_out_reason(row: dict[str, Any], bursts: set[str], include_test: bool) -> str | None:
    if row.get("bot"):
        return "bots"
    if row.get("test") and not include_test:
        return "test traffic"
    if row.get("storage") == "session":
        return "session-only visits"
    if row.get("source") in bursts:
        return "beacon bursts"
    return None


def burst_sources(rows: list[dict[str, Any]], limit: int) -> set[str]:
    """Addresses (keyed hashes) that sent beacons for more than ``limit`` visitors in one UTC day."""
    seen: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in rows:
        if r.get("source"):
            seen[(r["source"], int(r["updated"] // DAY))].add(r["visitor"])
    return {source for (source, _), ids in seen.items() if len(ids) > limit}


def _eligible_at(row: dict[str, Any]) -> float:
    """When the visit's first trigger fired (older beacons did not say: when the beacon was kept)."""
    return row.get("eligible_at") or row["updated"]


def _first_eligible(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    first: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["eligible"] and (r["visitor"] not in first or _eligible_at(r) < _eligible_at(first[r["visitor"]])):
            first[r["visitor"]] = r
    return first


def attribute(rows: list[dict[str, Any]], conversions: list[dict[str, Any]], offers: dict[str, Any],
              window_days: float = WINDOW_DAYS, burst_limit: int = BURST_LIMIT, include_test: bool = False,
              model_cost: float = 0.0) -> Attribution:  # fmt: skip
    """Visitors, their arm, and the purchases that count for them (see the module docstring)."""
    bursts = burst_sources(rows, burst_limit)
    left_out: dict[str, int] = defaultdict(int)
    kept = []
    for r in rows:
        reason = left_out_reason(r, bursts, include_test)
        if reason:
            left_out[reason] += 1
        else:
            kept.append(r)
    confirmed = bool(conversions)
    window = window_days * DAY
    by_visitor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in conversions:
        by_visitor[c["visitor"]].append(c)
    visitors, unconfirmed = [], 0
    visits = defaultdict(list)
    for r in kept:
        visits[r["visitor"]].append(r)
    for vid, r in _first_eligible(kept).items():
        first = _eligible_at(r)
        v = Visitor(vid, r["arm"], first, r["trigger"], r.get("variant"), r["phase"])
        own = visits[vid]
        shown = [x for x in own if x["arm"] == "treatment" and x["intervened"] and x.get("served", 1)]
        v.shown, v.dismissed, v.accepted = bool(shown), any(x["dismissed"] for x in shown), any(x["accepted"] for x in shown)
        if confirmed:
            bought = [c for c in by_visitor.get(vid, []) if first <= c["at"] <= first + window]
            v.value = sum(float(c["value"]) for c in bought)
            v.discount = sum(discount_of(c, offers) for c in bought)
            unconfirmed += int(not bought and any(x["converted"] for x in own))
        else:
            bought = [x for x in own if x["converted"] and first <= (x.get("converted_at") or x["updated"]) <= first + window]
            v.value = sum(float(x["value"]) for x in bought)
        v.converted = bool(bought)
        visitors.append(v)
    times = [r["updated"] for r in kept] + [v.first for v in visitors]
    out = Attribution(
        window_days=window_days, confirmed=confirmed, visitors=visitors,
        overall=_arms("all triggers", visitors),
        by_trigger=[_arms(t, [v for v in visitors if v.trigger == t]) for t in sorted({v.trigger for v in visitors if v.trigger})],
        variants=[], variant_pairs=[], start=min(times) if times else None, end=max(times) if times else None,
        left_out=dict(left_out), anomalies=[], model_cost=model_cost, unconfirmed=unconfirmed,
    )  # fmt: skip
    _variants(out)
    out.anomalies = anomalies(rows, bursts, left_out)
    out.weekly = weekly(visitors)
    return out


def _arms(label: str, visitors: list[Visitor]) -> Arms:
    return Arms(label, [v for v in visitors if v.arm == "treatment"], [v for v in visitors if v.arm == "holdout"])


def _variants(out: Attribution) -> None:
    for trig in sorted({v.trigger for v in out.visitors if v.trigger and v.variant}):
        mine = [v for v in out.visitors if v.trigger == trig]
        names = sorted({v.variant for v in mine if v.variant})
        for name in names:
            out.variants.append(_arms(f"{trig} · {name}", [v for v in mine if v.variant == name]))
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                ta = [v for v in mine if v.variant == a and v.arm == "treatment"]
                tb = [v for v in mine if v.variant == b and v.arm == "treatment"]
                xa, xb = sum(v.converted for v in ta), sum(v.converted for v in tb)
                ci = stats.msprt_diff(xa, len(ta), xb, len(tb), ALPHA, TAU) if ta and tb else None
                out.variant_pairs.append((trig, a, b, ci))


def anomalies(rows: list[dict[str, Any]], bursts: set[str], left_out: dict[str, int]) -> list[str]:
    lines = []
    if bursts:
        lines.append(f"{len(bursts)} address(es) sent beacons for more visitors in a day than a person could be: "
                     f"{left_out.get('beacon bursts', 0)} beacons left out")  # fmt: skip
    mismatched = sum(1 for r in rows if r.get("claimed_arm") and r["claimed_arm"] != r["arm"] and not r.get("test"))
    if mismatched:
        lines.append(f"{mismatched} beacons claimed an arm their visitor id does not hash to: the proxy's arm was used")
    return lines


def weekly(visitors: list[Visitor]) -> list[dict]:
    """Dismiss and accept rates per trigger and week (of the first eligible decision), treated visitors."""
    cells: dict[tuple[str, int], list[Visitor]] = defaultdict(list)
    for v in visitors:
        if v.shown and v.trigger:
            cells[(v.trigger, int(v.first // (7 * DAY)))].append(v)
    return [{"trigger": t, "week": w, "shown": len(vs), "dismissed": sum(v.dismissed for v in vs) / len(vs),
             "accepted": sum(v.accepted for v in vs) / len(vs)} for (t, w), vs in sorted(cells.items())]  # fmt: skip


def _mean_var(xs: list[float]) -> tuple[float, float]:
    mean = sum(xs) / len(xs)
    return mean, sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)


def pause_verdicts(attribution: Attribution, dismiss_limit: float = 0.8, min_shown: int = 50) -> dict[str, str]:
    """Triggers that should stop: an always-valid lift interval entirely below zero, or a dismiss rate
    at or above ``dismiss_limit`` over at least ``min_shown`` visitors it was shown to."""
    out = {}
    for arms in attribution.by_trigger:
        ci = arms.always_valid
        if ci is not None and ci[1] < 0:
            out[arms.label] = f"its always-valid lift interval [{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}] pts lies below zero"
            continue
        shown = [v for v in arms.treated if v.shown]
        if len(shown) >= min_shown:
            rate = sum(v.dismissed for v in shown) / len(shown)
            if rate >= dismiss_limit:
                out[arms.label] = f"dismissed by {100 * rate:.0f}% of the {len(shown)} visitors it was shown to"
    return out


def more_visitors(att: Attribution, holdout_fraction: float, relative: float = 0.20) -> int:
    """Eligible visitors still needed to detect a ``relative`` lift over the holdout's rate (80% power)."""
    xt, nt, xh, nh = att.overall.counts
    base = xh / nh if nh and xh else 0.05
    n_t, n_h = stats.sample_size(base, base * relative, holdout_fraction, ALPHA, 0.8)
    return max(0, math.ceil(n_t + n_h) - (nt + nh))


def money(value: float, currency: str = "") -> str:
    return f"{value:+,.2f} {currency}".rstrip()


def pays_line(att: Attribution, currency: str = "") -> str:
    net = att.net_per_1000()
    if net is None:
        return "Whether it pays: n/a until both arms have purchases with order values."
    mid, (lo, hi) = net
    span = f"{money(mid, currency)} net per 1,000 eligible visitors (95% interval {money(lo, currency)} to {money(hi, currency)})"
    if lo > 0:
        return f"It pays for itself: {span}, after discounts and the model's cost."
    if hi < 0:
        return f"It does not pay: {span}, after discounts and the model's cost."
    return f"Whether it pays is not yet clear: {span}."


def verdict(att: Attribution, holdout_fraction: float, paused: dict[str, str], currency: str = "") -> tuple[str, str]:
    """(kind, sentence): ``hurts``, ``early``, ``works`` or ``unclear``: the report's first line."""
    xt, nt, xh, nh = att.overall.counts
    stopped = "".join(f" Paused: {t}, because {why}." for t, why in sorted(paused.items()))
    if not nt or not nh:
        missing = "holdout" if not nh else "treated"
        return "early", f"Not enough evidence yet: no {missing} visitor has been eligible so far.{stopped}"
    per_1000 = 1000 * (xt / nt - xh / nh)
    ci = att.overall.always_valid or (-1.0, 1.0)
    if ci[1] < 0:
        return "hurts", f"Hurts: {per_1000:+.1f} conversions per 1,000 eligible visitors, surely below zero.{stopped}"
    needed = more_visitors(att, holdout_fraction)
    if att.days < MIN_DAYS:
        return "early", (f"Too early to read: {att.days:.1f} of {MIN_DAYS:g} days of data and {nt + nh:,} eligible "
                         f"visitors; about {needed:,} more to see a 20% lift.{stopped}")  # fmt: skip
    if ci[0] > 0:
        return "works", f"Works: {per_1000:+.1f} conversions per 1,000 eligible visitors. {pays_line(att, currency)}{stopped}"
    return "unclear", (f"Not enough evidence yet: {per_1000:+.1f} conversions per 1,000 eligible visitors so far; "
                       f"about {needed:,} more eligible visitors to see a 20% lift.{stopped}")  # fmt: skip


def judge_triggers(rows: list[dict[str, Any]], conversions: list[dict[str, Any]], offers: dict[str, Any],
                   dismiss_limit: float = 0.8, min_shown: int = 50) -> dict[str, str]:  # fmt: skip
    """The proxy's judge (handed to ``tactful.proxy.create_app`` by the command line): which triggers
    to pause, and why, from real, untested, unforged traffic only."""
    real = [r for r in rows if not r.get("synthetic")]
    return pause_verdicts(attribute(real, conversions, offers), dismiss_limit, min_shown)
