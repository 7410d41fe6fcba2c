"""tactful.lift: does the agent pay? Synthetic traffic, the lift report and its statistics.

Above ``tactful.core``, beside the bundle builder and the proxy, independent of both:
the command line hands it stored outcome rows and prices simulated words through the
proxy's public API. ::

    from tactful.lift import simulate, summarize, render_text
    result = simulate(playbook, 5000)
"""

from . import stats
from ._attribution import Attribution, Visitor, attribute, discount_of, judge_triggers, pause_verdicts
from ._report import Comparison, Summary, build_report, compare, outcomes_csv, render_html, render_text, summarize
from ._simulate import (
    PERSONAS,
    UPLIFT,
    SimulationResult,
    persona_visit,
    pick_persona,
    random_visit,
    simulate,
)

__all__ = [
    "Attribution",
    "Visitor",
    "attribute",
    "discount_of",
    "judge_triggers",
    "outcomes_csv",
    "pause_verdicts",
    "PERSONAS",
    "UPLIFT",
    "Comparison",
    "SimulationResult",
    "Summary",
    "build_report",
    "compare",
    "persona_visit",
    "pick_persona",
    "random_visit",
    "render_html",
    "render_text",
    "simulate",
    "stats",
    "summarize",
]
