"""``tactful report``: does the agent pay? A terminal summary and one self-contained HTML page.

The verdict comes first and stands on visitors (``_attribution``): a visitor whose first trigger
fired (treatment) or would have fired (holdout, counterfactual logging), and the purchases within
the attribution window after it, confirmed by the shop's server when it sends them. The per-visit
view (one outcome beacon each; bots and test traffic excluded) follows as a secondary table.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from dataclasses import dataclass, field
from typing import Any

from . import stats
from ._attribution import Attribution, attribute, pays_line, verdict

ALPHA = 0.05
SRM_ALARM = 0.001
TAU = 0.02  # the mSPRT mixing scale: lifts of a few points are what we expect to see


@dataclass
class Comparison:
    label: str
    treated: int
    treated_conv: int
    holdout: int
    holdout_conv: int
    newcombe: tuple[float, float] | None = None
    always_valid: tuple[float, float] | None = None

    @property
    def rate_t(self) -> float:
        return self.treated_conv / self.treated if self.treated else 0.0

    @property
    def rate_h(self) -> float:
        return self.holdout_conv / self.holdout if self.holdout else 0.0

    @property
    def lift(self) -> float:
        return self.rate_t - self.rate_h

    @property
    def relative(self) -> float | None:
        return self.lift / self.rate_h if self.rate_h else None


@dataclass
class Summary:
    synthetic: bool
    visits: int
    bots: int
    visitors: dict[str, int]
    holdout_fraction: float
    srm_chi2: float
    srm_p: float
    overall: Comparison
    by_trigger: list[Comparison]
    by_phase: list[Comparison]
    shown: int
    dismissed: int
    accepted: int
    model_calls: int
    cost_usd: float
    power: list[dict] = field(default_factory=list)
    session_only: int = 0  # visits without a persistent id (consent mode session): counted, not compared
    attribution: Attribution | None = None  # the per-visitor view the verdict stands on
    paused: dict[str, str] = field(default_factory=dict)  # trigger -> why the proxy paused it
    said: list[dict] = field(default_factory=list)  # the newest rows of the review log
    refusals: dict[str, int] = field(default_factory=dict)  # outcome beacons refused, by reason
    currency: str = ""

    @property
    def verdict(self) -> tuple[str, str]:
        if self.attribution is None:
            return "early", "Not enough evidence yet: no outcomes."
        return verdict(self.attribution, self.holdout_fraction, self.paused, self.currency)

    @property
    def srm_alarm(self) -> bool:
        return self.srm_p < SRM_ALARM

    @property
    def cost_per_1000(self) -> float:
        return 1000 * self.cost_usd / self.visits if self.visits else 0.0

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.model_calls / self.visits if self.visits else 0.0

    @property
    def incremental_conversions(self) -> float:
        return self.overall.lift * self.overall.treated

    @property
    def cost_per_incremental(self) -> float | None:
        inc = self.incremental_conversions
        return self.cost_usd / inc if inc > 0 else None


def compare(label: str, rows: list[dict]) -> Comparison:
    t = [r for r in rows if r["arm"] == "treatment"]
    h = [r for r in rows if r["arm"] == "holdout"]
    c = Comparison(label, len(t), sum(r["converted"] for r in t), len(h), sum(r["converted"] for r in h))
    if c.treated and c.holdout:
        c.newcombe = stats.newcombe_diff(c.treated_conv, c.treated, c.holdout_conv, c.holdout, ALPHA)
        c.always_valid = stats.msprt_diff(c.treated_conv, c.treated, c.holdout_conv, c.holdout, ALPHA, TAU)
    return c


def summarize(rows: list[dict], holdout_fraction: float, model_calls: int, cost_usd: float, synthetic: bool) -> Summary:
    # A session-only visit has an id for one tab's session: its caps reset and its "visitor" is a tab,
    # so it is counted apart rather than mixed into a comparison of visitors.
    session_only = [r for r in rows if r.get("storage") == "session"]
    rows = [r for r in rows if r.get("storage") != "session" and not r.get("test")]
    humans = [r for r in rows if not r["bot"]]
    visitors: dict[str, set[str]] = {"treatment": set(), "holdout": set()}
    for r in humans:
        visitors[r["arm"]].add(r["visitor"])
    counts = {arm: len(ids) for arm, ids in visitors.items()}
    chi2, p = stats.srm(counts["treatment"], counts["holdout"], holdout_fraction)
    triggered = [r for r in humans if r["eligible"]]
    triggers = sorted({r["trigger"] for r in triggered if r["trigger"]})
    phases = sorted({r["phase"] for r in triggered if r["phase"]})
    shown = [r for r in triggered if r["arm"] == "treatment" and r["intervened"]]
    summary = Summary(
        synthetic=synthetic,
        visits=len(humans),
        bots=len(rows) - len(humans),
        session_only=len(session_only),
        visitors=counts,
        holdout_fraction=holdout_fraction,
        srm_chi2=chi2,
        srm_p=p,
        overall=compare("all triggers", triggered),
        by_trigger=[compare(t, [r for r in triggered if r["trigger"] == t]) for t in triggers],
        by_phase=[compare(f"phase {ph}", [r for r in triggered if r["phase"] == ph]) for ph in phases],
        shown=len(shown),
        dismissed=sum(r["dismissed"] for r in shown),
        accepted=sum(r["accepted"] for r in shown),
        model_calls=model_calls,
        cost_usd=cost_usd,
    )
    base = summary.overall.rate_h or 0.05
    share = len(triggered) / len(humans) if humans else 0.0
    for relative in (0.10, 0.20, 0.30):
        lift = base * relative
        if 0 < base + lift < 1:
            n_t, n_h = stats.sample_size(base, lift, holdout_fraction, ALPHA, 0.8)
            triggered_needed = n_t + n_h
            summary.power.append({
                "relative": relative, "absolute": lift, "treated": n_t, "holdout": n_h,
                "triggered": triggered_needed, "visits": triggered_needed / share if share else None,
            })  # fmt: skip
    return summary


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def _pts(x: float) -> str:
    return f"{100 * x:+.2f} pts"


def _rate(x: int, n: int) -> str:
    return _pct(x / n, 2) if n else "n/a"


def _lift(c: Comparison) -> str:
    return _pts(c.lift) if c.treated and c.holdout else "n/a"


def _interval(ci: tuple[float, float] | None) -> str:
    return f"[{_pts(ci[0])}, {_pts(ci[1])}]" if ci else "n/a"


def _range(a: Attribution) -> str:
    if a.start is None or a.end is None:
        return "no dates yet"
    first, last = (dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d") for t in (a.start, a.end))
    return f"{first} to {last} ({a.days:.1f} days, {a.per_day:,.1f} eligible visitors a day)"


def _visitor_lines(s: Summary) -> list[str]:
    a = s.attribution
    if a is None:
        return []
    source = "confirmed by the shop's server" if a.confirmed else "as the browsers reported them (none confirmed)"
    lines = [f"Data: {_range(a)}; purchases {source}; attribution window {a.window_days:g} days",
             f"{'visitors':<24} {'treated':>14} {'holdout':>14} {'lift':>11}  always-valid"]  # fmt: skip
    for arms in [a.overall, *a.by_trigger, *a.variants]:
        xt, nt, xh, nh = arms.counts
        lift = _pts(arms.lift) if arms.lift is not None else "n/a"
        lines.append(f"{arms.label:<24} {xt:>5}/{nt:<8} {xh:>5}/{nh:<8} {lift:>11}  {_interval(arms.always_valid)}")
    for trig, x, y, ci in a.variant_pairs:
        lines.append(f"  {trig}: {x} vs {y} (treated), always-valid {_interval(ci)}")
    lines.append(pays_line(a, s.currency))
    left = ", ".join(f"{k} {v:,}" for k, v in sorted(a.left_out.items())) or "none"
    refused = ", ".join(f"{k} {v:,}" for k, v in sorted(s.refusals.items())) or "none"
    lines.append(f"Left out: {left}. Beacons refused: {refused}.")
    if a.confirmed:
        lines.append(f"Purchases claimed by browsers but not confirmed by the shop: {a.unconfirmed:,} visitors")
    lines += [f"Anomaly: {line}" for line in a.anomalies]
    lines += [f"Paused: {t}: {why}" for t, why in sorted(s.paused.items())]
    return lines


def render_text(s: Summary) -> str:
    o = s.overall
    lines = []
    if s.synthetic:
        lines.append("SYNTHETIC DATA (tactful simulate): a stated behavioural model, not evidence.")
    lines += [f"Verdict: {s.verdict[1]}", "", *_visitor_lines(s), ""]
    lines += [
        f"Per visit (secondary): {s.visits:,} visits (bots excluded: {s.bots:,}; session-only visits counted apart: "
        f"{s.session_only:,}); visitors: treatment {s.visitors['treatment']:,}, "
        f"holdout {s.visitors['holdout']:,} (configured holdout {_pct(s.holdout_fraction, 0)})",
        f"Sample ratio check: chi2 {s.srm_chi2:.2f}, p = {s.srm_p:.4f} "
        + ("— ALARM: the split is off; do not trust the lift until it is explained" if s.srm_alarm else "— ok"),
        "",
        "Triggered visits (shown, or would have been shown in the holdout):",
        f"  treatment {o.treated_conv:,}/{o.treated:,} = {_rate(o.treated_conv, o.treated)}   "
        f"holdout {o.holdout_conv:,}/{o.holdout:,} = {_rate(o.holdout_conv, o.holdout)}",
        f"  lift {_lift(o)}" + (f" ({o.relative:+.0%} relative)" if o.relative is not None else ""),
        f"  95% Newcombe interval {_interval(o.newcombe)}; always-valid (mSPRT) {_interval(o.always_valid)}",
        "",
        f"{'trigger / phase':<22} {'treated':>14} {'holdout':>14} {'lift':>11}  {'95% interval':<26} always-valid",
    ]
    for c in [*s.by_trigger, *s.by_phase]:
        lines.append(
            f"{c.label:<22} {c.treated_conv:>5}/{c.treated:<8} {c.holdout_conv:>5}/{c.holdout:<8} {_lift(c):>11}  "
            f"{_interval(c.newcombe):<26} {_interval(c.always_valid)}"
        )
    dismiss = s.dismissed / s.shown if s.shown else 0.0
    accept = s.accepted / s.shown if s.shown else 0.0
    lines += [
        "",
        f"Shown {s.shown:,}: dismissed {_pct(dismiss)}, accepted {_pct(accept)}",
        f"Model calls {s.model_calls:,} ({s.calls_per_1000:.1f} per 1,000 visits); cost ${s.cost_usd:.4f} "
        f"(${s.cost_per_1000:.4f} per 1,000 visits)",
        "Cost per incremental conversion: "
        + (f"${s.cost_per_incremental:.4f} ({s.incremental_conversions:.1f} incremental conversions)"
           if s.cost_per_incremental is not None else "n/a (no positive lift yet)"),  # fmt: skip
        "",
        f"Traffic needed to detect a lift (80% power, 5% two-sided, holdout {_pct(s.holdout_fraction, 0)}, "
        f"baseline {_pct(o.rate_h or 0.05, 2)}):",
    ]
    for p in s.power:
        visits = f"{p['visits']:,.0f} visits" if p["visits"] else "n/a"
        lines.append(f"  {p['relative']:+.0%} relative ({_pts(p['absolute'])}): {p['triggered']:,.0f} triggered visits "
                     f"(~{visits})")  # fmt: skip
    return "\n".join(lines) + "\n"


def _row_chart(lift: float | None, ci: tuple[float, float] | None, inner: tuple[float, float] | None = None) -> str:
    """One row's lift on its own scale (a row with a narrow interval is not flattened by a wide one):
    the light band is the always-valid interval, the dark line the 95% interval, the dot the lift."""
    if lift is None or ci is None:
        return '<span class="na">n/a</span>'
    lo, hi = min(ci[0], 0.0), max(ci[1], 0.0)
    span = (hi - lo) or 0.01

    def x(v: float) -> float:
        return 6 + (v - lo) / span * 228

    parts = ['<svg viewBox="0 0 240 30" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'aria-label="lift {_pts(lift)}, always-valid {_interval(ci)}">',
             f'<line x1="{x(0):.1f}" y1="2" x2="{x(0):.1f}" y2="28" stroke="#999" stroke-dasharray="3 2"/>',
             f'<line x1="{x(ci[0]):.1f}" y1="15" x2="{x(ci[1]):.1f}" y2="15" stroke="#c9b8a6" stroke-width="10" '
             'stroke-linecap="round"/>']  # fmt: skip
    if inner:
        parts.append(f'<line x1="{x(inner[0]):.1f}" y1="15" x2="{x(inner[1]):.1f}" y2="15" stroke="#7a3e12" stroke-width="3"/>')
    parts.append(f'<circle cx="{x(lift):.1f}" cy="15" r="5" fill="#7a3e12"/></svg>')
    return "".join(parts)


GLOSSARY = (
    ("Eligible visitor", "a visitor for whom a trigger fired (treatment) or would have fired (holdout). Only they "
     "are compared: like with like."),
    ("Arms: treatment and holdout", "every visitor id is hashed into one arm for good. The holdout never sees an "
     "intervention; the proxy recomputes the arm from the id and never takes the browser's word for it."),
    ("Lift, pts", "the treatment's conversion rate minus the holdout's, in percentage points (pts): +1.00 pts is one "
     "more buyer per 100 eligible visitors, ten per 1,000."),
    ("Always-valid interval (mSPRT)", "the range the true lift lies in, which stays valid however often you look "
     "(a mixture sequential probability ratio test). If it lies above zero the agent works; below, it hurts."),
    ("95% interval (Newcombe)", "the classic interval for one look at a fixed sample size; narrower, but peeking "
     "daily makes it lie. Read the always-valid one."),
    ("Attribution window", "a purchase counts for a visitor if it comes within this many days after the visitor's "
     "first eligible moment, once per visitor."),
    ("Confirmed purchase", "an order the shop's own server reported (POST /v1/conversion), as opposed to a browser's "
     "claim, which anyone can forge."),
    ("Net revenue", "order values minus the discounts given, per visitor; the model's cost is subtracted from the "
     "difference between the arms."),
    ("Sample ratio check (χ²)", "whether the arms are split as configured. An alarm means something drops visitors "
     "from one arm: do not trust the lift until it is explained."),
    ("Phase", "the rollout step a trigger belongs to; later phases switch on once earlier ones are trusted."),
    ("Synthetic", "numbers made by tactful simulate from a stated behavioural model: they show how the report "
     "reads and are no evidence. Marked “sim”."),
)

CSS = """
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 0 auto; padding: 16px; color: #1f1a17; }
h1 { margin-bottom: 4px; } h2 { margin-top: 28px; }
.wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: 10px 0 20px; font-size: 14px; }
td, th { border-bottom: 1px solid #e6dfd8; padding: 6px 8px; text-align: left; vertical-align: top; }
.verdict { font-size: 19px; font-weight: 650; padding: 12px 16px; border-radius: 10px; border: 2px solid; }
.verdict.works { background: #e6f4ea; border-color: #2e7d32; } .verdict.hurts { background: #fde2e1; border-color: #c62828; }
.verdict.early, .verdict.unclear { background: #fff8e6; border-color: #b7791f; }
.synthetic { background: #fff4d6; border: 1px solid #e0b94f; padding: 10px 14px; border-radius: 8px; font-weight: 600; }
.alarm { background: #fde2e1; border: 1px solid #d9534f; padding: 10px 14px; border-radius: 8px; font-weight: 600; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin-top: 14px; }
.kpi { border: 1px solid #e6dfd8; border-radius: 10px; padding: 12px; } .kpi b { display: block; font-size: 22px; }
.rows { display: grid; gap: 10px; }
.row { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 4px 14px; align-items: center;
  border-bottom: 1px solid #e6dfd8; padding-bottom: 8px; }
.row svg { width: 100%; height: 30px; } .row .label { font-weight: 600; } .row small { color: #5b524b; }
@media (max-width: 560px) { .row { grid-template-columns: minmax(0, 1fr); } }
.syn { font-size: 11px; color: #8a5a00; margin-left: 2px; } .na { color: #5b524b; }
pre { background: #f7f3ee; padding: 12px; overflow-x: auto; font-size: 12px; max-width: 100%; }
dt { font-weight: 650; margin-top: 8px; }
"""


def _rows_html(items: list, mark: str) -> str:
    out = []
    for arms in items:
        xt, nt, xh, nh = arms.counts
        lift = f"{_pts(arms.lift)}{mark}" if arms.lift is not None else "n/a"
        out.append(f'<div class="row"><div><span class="label">{html.escape(arms.label)}</span> {lift}<br><small>'
                   f"treated {xt}/{nt} ({_rate(xt, nt)}) · holdout {xh}/{nh} ({_rate(xh, nh)}) · always-valid "
                   f"{_interval(arms.always_valid)}</small></div>{_row_chart(arms.lift, arms.always_valid, arms.newcombe)}</div>")  # fmt: skip
    return '<div class="rows">' + "".join(out) + "</div>"


def _trust_html(s: Summary) -> str:
    a = s.attribution
    if a is None:
        return ""
    lines = [line for line in _visitor_lines(s) if line.startswith(("Data:", "Left out", "Purchases claimed", "Anomaly", "Paused"))]
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def _said_html(s: Summary) -> str:
    rows = "".join(
        f"<tr><td>{dt.datetime.fromtimestamp(r['at'], dt.UTC):%Y-%m-%d %H:%M}</td><td>{html.escape(r['trigger'])}"
        f"{' · ' + html.escape(r['variant']) if r.get('variant') else ''}</td><td>{html.escape(r['kind'])}</td>"
        f"<td>{html.escape(r['source'])}</td><td>{html.escape(r.get('text') or '(the playbook template)')}</td></tr>"
        for r in s.said[:50]
    )
    weeks = "".join(
        f"<tr><td>{html.escape(w['trigger'])}</td><td>{dt.datetime.fromtimestamp(w['week'] * 7 * 86400, dt.UTC):%Y-%m-%d}</td>"
        f"<td>{w['shown']}</td><td>{_pct(w['dismissed'])}</td><td>{_pct(w['accepted'])}</td></tr>"
        for w in (s.attribution.weekly if s.attribution else [])
    )
    return (f'<h3>Dismissed and accepted, per trigger and week</h3><div class="wrap"><table><thead><tr><th>trigger</th>'
            f"<th>week from</th><th>shown to</th><th>dismissed</th><th>accepted</th></tr></thead><tbody>{weeks}</tbody>"
            f'</table></div><h3>The newest words shown and chat turns</h3><div class="wrap"><table><thead><tr><th>when '
            f"(UTC)</th><th>trigger</th><th>what</th><th>source</th><th>text</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div>")  # fmt: skip


# long: one HTML template, read top to bottom like the page it makes; fragments would scatter it.
def render_html(s: Summary, nav: str = "") -> str:
    """One self-contained page (inline CSS and SVG, no scripts), readable on a phone. ``nav`` is extra
    HTML under the title."""
    mark = '<sup class="syn" title="synthetic: made by tactful simulate">sim</sup>' if s.synthetic else ""
    banner = ('<p class="synthetic">SYNTHETIC DATA — produced by <code>tactful simulate</code> from a stated '
              "behavioural model. It shows how the report reads; it is not evidence that anything works.</p>"
              if s.synthetic else "")  # fmt: skip
    alarm = ('<p class="alarm">Sample ratio mismatch: the arms are not split as configured (p &lt; 0.001). '
             "Find out why before reading the lift.</p>" if s.srm_alarm else "")  # fmt: skip
    kind, sentence = s.verdict
    a = s.attribution
    lift = a.overall.lift if a else None
    net = a.net_per_1000() if a else None
    per_1000 = f"{1000 * lift:+.1f}{mark}" if lift is not None else "n/a"
    net_text = f"{net[0]:+,.2f} {s.currency}{mark}" if net else "n/a"
    rows = "".join(
        f"<tr><td>{html.escape(c.label)}</td><td>{c.treated_conv}/{c.treated} ({_rate(c.treated_conv, c.treated)})</td>"
        f"<td>{c.holdout_conv}/{c.holdout} ({_rate(c.holdout_conv, c.holdout)})</td><td>{_lift(c)}{mark}</td>"
        f"<td>{_interval(c.newcombe)}</td><td>{_interval(c.always_valid)}</td></tr>"
        for c in [s.overall, *s.by_trigger, *s.by_phase]
    )
    power = "".join(
        f"<tr><td>{p['relative']:+.0%} ({_pts(p['absolute'])})</td><td>{p['triggered']:,.0f}</td>"
        f"<td>{p['visits']:,.0f}</td></tr>" if p["visits"] else "" for p in s.power
    )
    glossary = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY)
    variants = ""
    if a and a.variants:
        pairs = "".join(f"<li>{html.escape(t)}: {html.escape(x)} vs {html.escape(y)} (treated visitors), always-valid "
                        f"{_interval(ci)}</li>" for t, x, y, ci in a.variant_pairs)  # fmt: skip
        variants = f"<h2>Variants</h2><p>Each version against the holdout visitors who would have seen it:</p>{_rows_html(a.variants, mark)}<ul>{pairs}</ul>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tactful lift report{' (synthetic)' if s.synthetic else ''}</title>
<style>{CSS}</style></head><body>
<h1>Does the agent pay?</h1>
{nav}{banner}
<p class="verdict {kind}" id="verdict">{html.escape(sentence)}{mark}</p>
{alarm}
<div class="kpis">
<div class="kpi">Conversions per 1,000 eligible visitors<b>{per_1000}</b>always-valid {_interval(a.overall.always_valid) if a else "n/a"}</div>
<div class="kpi">Net revenue per 1,000 eligible visitors<b>{net_text}</b>after discounts and model cost</div>
<div class="kpi">Data<b>{(f"{a.days:.1f} days" if a else "n/a")}</b>{html.escape(_range(a)) if a else ""}</div>
<div class="kpi">Model calls per 1,000 visits<b>{s.calls_per_1000:.1f}{mark}</b>${s.cost_per_1000:.4f} per 1,000 visits</div>
</div>
<h2>Lift by trigger</h2>
<p>Eligible visitors, purchases within {a.window_days if a else 7:g} days. Each row has its own scale; the dashed line is zero,
the light band the always-valid interval, the dark line the 95% interval.</p>
{_rows_html([a.overall, *a.by_trigger], mark) if a else ""}
{variants}
<h2>Can the data be trusted?</h2>{_trust_html(s)}
<h2>What was said</h2>{_said_html(s)}
<h2>Per visit (secondary)</h2>
<p>{s.visits:,} visits; {s.bots:,} bot visits excluded; {s.session_only:,} session-only visits (no persistent id)
counted apart. Visitors: treatment {s.visitors['treatment']:,}, holdout {s.visitors['holdout']:,} (configured holdout
{_pct(s.holdout_fraction, 0)}). Sample ratio check: χ² {s.srm_chi2:.2f}, p = {s.srm_p:.4f}.</p>
<div class="wrap"><table><thead><tr><th></th><th>treatment</th><th>holdout</th><th>lift</th><th>95% Newcombe</th><th>always-valid</th></tr></thead>
<tbody>{rows}</tbody></table></div>
<h2>Traffic needed</h2>
<p>To detect a lift with 80% power at 5% (two-sided) with this holdout and baseline:</p>
<div class="wrap"><table><thead><tr><th>lift</th><th>triggered visits</th><th>all visits</th></tr></thead><tbody>{power}</tbody></table></div>
<h2>Glossary</h2><dl>{glossary}</dl>
<h2>As text</h2><pre>{html.escape(render_text(s))}</pre>
</body></html>
"""


REAL_MIN = 100  # real visits before "auto" shows real data rather than the simulation


def build_report(
    outcomes: list[dict],
    holdout_fraction: float,
    include: str = "auto",
    synthetic_costs: tuple[int, float] = (0, 0.0),
    real_costs: tuple[int, float] = (0, 0.0),
    **extra: Any,
) -> Summary:
    """Summarise stored outcome rows: real ones, or, when a simulation is stored, its synthetic ones
    while there are fewer than ``REAL_MIN`` real ones (a handful of beacons, forged or not, cannot
    turn a simulation into evidence). ``synthetic_costs`` and ``real_costs`` are (model calls, USD) for each kind of traffic.

    ``extra``: ``conversions`` (the shop's confirmed purchases), ``offers`` (the playbook's, for
    discount costs), ``paused``, ``said``, ``refusals``, ``window_days``, ``include_test``, ``currency``.
    """
    real = [r for r in outcomes if not r["synthetic"] and not r.get("test")]
    simulated = any(r["synthetic"] for r in outcomes)
    synthetic = include == "synthetic" or (include == "auto" and simulated and len(real) < REAL_MIN)
    chosen = [r for r in outcomes if bool(r["synthetic"]) == synthetic]
    calls, cost = synthetic_costs if synthetic else real_costs
    summary = summarize(chosen, holdout_fraction, int(calls), float(cost), synthetic)
    conversions = [] if synthetic else list(extra.get("conversions") or [])
    summary.attribution = attribute(chosen, conversions, extra.get("offers") or {},
                                    window_days=float(extra.get("window_days", 7.0)),
                                    include_test=bool(extra.get("include_test")), model_cost=float(cost))  # fmt: skip
    summary.paused = dict(extra.get("paused") or {})
    summary.said = [] if synthetic else list(extra.get("said") or [])
    summary.refusals = dict(extra.get("refusals") or {})
    summary.currency = str(extra.get("currency") or "")
    return summary


CSV_FIELDS = ("visitor", "arm", "first_eligible", "trigger", "variant", "phase", "shown", "dismissed", "accepted",
              "converted", "value", "discount", "net")  # fmt: skip


def outcomes_csv(s: Summary) -> str:
    """The eligible visitors behind the verdict, one row each, for a warehouse (UTC ISO times)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for v in s.attribution.visitors if s.attribution else []:
        first = dt.datetime.fromtimestamp(v.first, dt.UTC).isoformat(timespec="seconds")
        writer.writerow([v.id, v.arm, first, v.trigger or "", v.variant or "", v.phase if v.phase is not None else "",
                         int(v.shown), int(v.dismissed), int(v.accepted), int(v.converted), f"{v.value:.2f}",
                         f"{v.discount:.2f}", f"{v.net:.2f}"])  # fmt: skip
    return out.getvalue()
