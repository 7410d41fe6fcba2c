"""``tactful report``: does the agent pay? A terminal summary and one self-contained HTML page.

The unit is a visit (one outcome beacon). Bots are excluded. Lift is measured on the
*triggered* population: visits where a trigger fired (treatment) or would have fired
(holdout, counterfactual logging), so the comparison is like with like.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from . import stats

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
    rows = [r for r in rows if r.get("storage") != "session"]
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


def _interval(ci: tuple[float, float] | None) -> str:
    return f"[{_pts(ci[0])}, {_pts(ci[1])}]" if ci else "n/a"


def render_text(s: Summary) -> str:
    o = s.overall
    lines = []
    if s.synthetic:
        lines.append("SYNTHETIC DATA (tactful simulate): a stated behavioural model, not evidence.")
    lines += [
        f"Visits {s.visits:,} (bots excluded: {s.bots:,}; session-only visits counted apart: {s.session_only:,}); "
        f"visitors: treatment {s.visitors['treatment']:,}, "
        f"holdout {s.visitors['holdout']:,} (configured holdout {_pct(s.holdout_fraction, 0)})",
        f"Sample ratio check: chi2 {s.srm_chi2:.2f}, p = {s.srm_p:.4f} "
        + ("— ALARM: the split is off; do not trust the lift until it is explained" if s.srm_alarm else "— ok"),
        "",
        "Triggered visits (shown, or would have been shown in the holdout):",
        f"  treatment {o.treated_conv:,}/{o.treated:,} = {_pct(o.rate_t, 2)}   holdout {o.holdout_conv:,}/{o.holdout:,} "
        f"= {_pct(o.rate_h, 2)}",
        f"  lift {_pts(o.lift)}" + (f" ({o.relative:+.0%} relative)" if o.relative is not None else ""),
        f"  95% Newcombe interval {_interval(o.newcombe)}; always-valid (mSPRT) {_interval(o.always_valid)}",
        "",
        f"{'trigger / phase':<22} {'treated':>14} {'holdout':>14} {'lift':>11}  {'95% interval':<26} always-valid",
    ]
    for c in [*s.by_trigger, *s.by_phase]:
        lines.append(
            f"{c.label:<22} {c.treated_conv:>5}/{c.treated:<8} {c.holdout_conv:>5}/{c.holdout:<8} {_pts(c.lift):>11}  "
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


def _bars(s: Summary) -> str:
    """An SVG forest plot: lift and its two intervals, overall and per trigger."""
    rows = [s.overall, *s.by_trigger, *s.by_phase]
    values = [v for c in rows for ci in (c.newcombe, c.always_valid) if ci for v in ci] or [0.0]
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    span = (hi - lo) or 0.01
    width, left, row_h = 720, 170, 34
    height = row_h * len(rows) + 40

    def x(v: float) -> float:
        return left + (v - lo) / span * (width - left - 20)

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Lift by trigger with intervals" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="13">',
             f'<line x1="{x(0):.1f}" y1="10" x2="{x(0):.1f}" y2="{height - 25}" stroke="#999" stroke-dasharray="4 3"/>']  # fmt: skip
    for i, c in enumerate(rows):
        y = 24 + i * row_h
        parts.append(f'<text x="8" y="{y + 4}">{html.escape(c.label)}</text>')
        if c.always_valid:
            parts.append(f'<line x1="{x(c.always_valid[0]):.1f}" y1="{y}" x2="{x(c.always_valid[1]):.1f}" y2="{y}" '
                         'stroke="#c9b8a6" stroke-width="10" stroke-linecap="round"/>')  # fmt: skip
        if c.newcombe:
            parts.append(f'<line x1="{x(c.newcombe[0]):.1f}" y1="{y}" x2="{x(c.newcombe[1]):.1f}" y2="{y}" '
                         'stroke="#7a3e12" stroke-width="3"/>')  # fmt: skip
        parts.append(f'<circle cx="{x(c.lift):.1f}" cy="{y}" r="5" fill="#7a3e12"/>')
    parts.append(f'<text x="{x(0):.1f}" y="{height - 8}" text-anchor="middle">0</text>')
    parts.append(f'<text x="{width - 20}" y="{height - 8}" text-anchor="end">{_pts(hi)}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}">{_pts(lo)}</text></svg>')
    return "".join(parts)


def _arms(s: Summary) -> str:
    o = s.overall
    rows = [("treatment", o.rate_t, stats.wilson(o.treated_conv, o.treated) if o.treated else (0, 0)),
            ("holdout", o.rate_h, stats.wilson(o.holdout_conv, o.holdout) if o.holdout else (0, 0))]  # fmt: skip
    top = max([ci[1] for _, _, ci in rows] + [0.01])
    parts = ['<svg width="360" height="220" viewBox="0 0 360 220" role="img" aria-label="Conversion by arm" '
             'xmlns="http://www.w3.org/2000/svg" font-size="13">']  # fmt: skip
    for i, (name, rate, ci) in enumerate(rows):
        x0 = 60 + i * 150
        h = rate / top * 160
        parts.append(f'<rect x="{x0}" y="{180 - h:.1f}" width="80" height="{h:.1f}" fill="{"#7a3e12" if i == 0 else "#c9b8a6"}"/>')
        parts.append(f'<line x1="{x0 + 40}" y1="{180 - ci[1] / top * 160:.1f}" x2="{x0 + 40}" y2="{180 - ci[0] / top * 160:.1f}" '
                     'stroke="#222" stroke-width="2"/>')  # fmt: skip
        parts.append(f'<text x="{x0 + 40}" y="200" text-anchor="middle">{name}</text>')
        parts.append(f'<text x="{x0 + 40}" y="{172 - h:.1f}" text-anchor="middle">{_pct(rate, 2)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# long: one HTML template, read top to bottom like the page it makes; fragments would scatter it.
def render_html(s: Summary, nav: str = "") -> str:
    """One self-contained page (inline CSS and SVG, no scripts). ``nav`` is extra HTML under the title."""
    banner = ('<p class="synthetic">SYNTHETIC DATA — produced by <code>tactful simulate</code> from a stated '
              "behavioural model. It shows how the report reads; it is not evidence that anything works.</p>"
              if s.synthetic else "")  # fmt: skip
    alarm = ('<p class="alarm">Sample ratio mismatch: the arms are not split as configured (p &lt; 0.001). '
             "Find out why before reading the lift.</p>" if s.srm_alarm else "")  # fmt: skip
    rows = "".join(
        f"<tr><td>{html.escape(c.label)}</td><td>{c.treated_conv}/{c.treated} ({_pct(c.rate_t, 2)})</td>"
        f"<td>{c.holdout_conv}/{c.holdout} ({_pct(c.rate_h, 2)})</td><td>{_pts(c.lift)}</td>"
        f"<td>{_interval(c.newcombe)}</td><td>{_interval(c.always_valid)}</td></tr>"
        for c in [s.overall, *s.by_trigger, *s.by_phase]
    )
    power = "".join(
        f"<tr><td>{p['relative']:+.0%} ({_pts(p['absolute'])})</td><td>{p['triggered']:,.0f}</td>"
        f"<td>{p['visits']:,.0f}</td></tr>" if p["visits"] else "" for p in s.power
    )
    text = html.escape(render_text(s))
    dismiss = _pct(s.dismissed / s.shown) if s.shown else "n/a"
    accept = _pct(s.accepted / s.shown) if s.shown else "n/a"
    cpi = f"${s.cost_per_incremental:.4f}" if s.cost_per_incremental is not None else "n/a"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tactful lift report{' (synthetic)' if s.synthetic else ''}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 0 auto; padding: 20px; color: #1f1a17; }}
h1 {{ margin-bottom: 4px; }} table {{ border-collapse: collapse; width: 100%; margin: 10px 0 20px; }}
td, th {{ border-bottom: 1px solid #e6dfd8; padding: 6px 8px; text-align: left; }}
.synthetic {{ background: #fff4d6; border: 1px solid #e0b94f; padding: 10px 14px; border-radius: 8px; font-weight: 600; }}
.alarm {{ background: #fde2e1; border: 1px solid #d9534f; padding: 10px 14px; border-radius: 8px; font-weight: 600; }}
.kpis {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; }}
.kpi {{ border: 1px solid #e6dfd8; border-radius: 10px; padding: 12px; }} .kpi b {{ display: block; font-size: 22px; }}
svg {{ max-width: 100%; height: auto; }} pre {{ background: #f7f3ee; padding: 12px; overflow-x: auto; font-size: 12px; }}
</style></head><body>
<h1>Does the agent pay?</h1>
{nav}{banner}{alarm}
<div class="kpis">
<div class="kpi">Lift on triggered visits<b>{_pts(s.overall.lift)}</b>95% {_interval(s.overall.newcombe)}</div>
<div class="kpi">Always-valid interval<b>{_interval(s.overall.always_valid)}</b>safe to read every day</div>
<div class="kpi">Cost per incremental conversion<b>{cpi}</b>{s.incremental_conversions:.1f} incremental conversions</div>
<div class="kpi">Model calls per 1,000 visits<b>{s.calls_per_1000:.1f}</b>${s.cost_per_1000:.4f} per 1,000 visits</div>
</div>
<h2>Arms</h2>
<p>Visitors: treatment {s.visitors['treatment']:,}, holdout {s.visitors['holdout']:,} (configured holdout
{_pct(s.holdout_fraction, 0)}). Sample ratio check: χ² {s.srm_chi2:.2f}, p = {s.srm_p:.4f}.
{s.visits:,} visits; {s.bots:,} bot visits excluded; {s.session_only:,} session-only visits (no persistent id)
counted apart.</p>
{_arms(s)}
<h2>Lift by trigger and phase</h2>
<p>Conversion of triggered visits: shown in the treatment arm, would-have-been-shown in the holdout.
The dark bar is the 95% Newcombe interval; the light band the always-valid (mSPRT) interval.</p>
{_bars(s)}
<table><thead><tr><th></th><th>treatment</th><th>holdout</th><th>lift</th><th>95% Newcombe</th><th>always-valid</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>Engagement and cost</h2>
<p>Shown {s.shown:,} times: dismissed {dismiss}, accepted {accept}. Model calls {s.model_calls:,};
cost ${s.cost_usd:.4f}.</p>
<h2>Traffic needed</h2>
<p>To detect a lift with 80% power at 5% (two-sided) with this holdout and baseline:</p>
<table><thead><tr><th>lift</th><th>triggered visits</th><th>all visits</th></tr></thead><tbody>{power}</tbody></table>
<h2>As text</h2><pre>{text}</pre>
</body></html>
"""


def build_report(
    outcomes: list[dict],
    holdout_fraction: float,
    include: str = "auto",
    synthetic_costs: tuple[int, float] = (0, 0.0),
    real_costs: tuple[int, float] = (0, 0.0),
) -> Summary:
    """Summarise stored outcome rows: real ones, or synthetic ones when there are no real ones.

    ``synthetic_costs`` and ``real_costs`` are (model calls, USD) for each kind of traffic.
    """
    real = [r for r in outcomes if not r["synthetic"]]
    synthetic = include == "synthetic" or (include == "auto" and not real)
    chosen = [r for r in outcomes if bool(r["synthetic"]) == synthetic]
    calls, cost = synthetic_costs if synthetic else real_costs
    return summarize(chosen, holdout_fraction, int(calls), float(cost), synthetic)
