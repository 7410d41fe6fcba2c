"""Model calls per 1,000 simulated visits: Tactful vs an "always-on" and a "popup" baseline.

All three see the same synthetic visits (``tactful simulate``'s behavioural model, one run):

* **Tactful**: the engine decides locally; only shown interventions ask for words, and the
  proxy's message cache answers repeats.
* **popup**: a time-on-page popup: once a page has been open 10 s, it fires (at most once
  a visit) and asks for its words through the same proxy path as Tactful, message cache
  included (its words depend on the page kind and language, as Tactful's do).
* **always-on**: an agent that gives the model the visitor's behaviour and lets it decide:
  once per page view (the fair reading), and, as a second line, once per behaviour signal.
  Its prompt carries the visit's own behaviour, so no cache can answer it.

Also counted: interventions shown to visitors who had already converted, and to bots
(target 0).

    python bench/bench_demo.py [--visitors 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "engine"))

import tomllib  # noqa: E402

from figures import recorded  # noqa: E402

from tactful.core import PAGE_KINDS, MessageRequest, Playbook  # noqa: E402
from tactful.lift import simulate  # noqa: E402
from tactful.proxy import price_requests  # noqa: E402

POPUP_DWELL = 10.0


def popup_fire(events: list[dict]) -> tuple[float, str] | None:
    """When and on which page a 10-second time-on-page popup fires in this visit (at most once), or None."""
    views = [e for e in events if e["type"] == "page_view"]
    ends = [e["t"] for e in views[1:]] + [events[-1]["t"]]
    for view, end in zip(views, ends, strict=True):
        if end - view["t"] >= POPUP_DWELL:
            return view["t"] + POPUP_DWELL, view["url"]
    return None


def with_popup(source: dict) -> tuple[Playbook, Playbook]:
    """The demo playbook, and a copy that also knows a `popup` trigger on every page kind it may name,
    so the popup's words go through the proxy's real path (validation, cache, spend). The engine
    never runs that trigger: the popup fires by time alone, as ``popup_fire`` says."""
    kinds = [k for k in PAGE_KINDS if k not in ("support", "account")]
    popup = {"id": "popup", "phase": 1, "priority": 1, "kind": "questions", "pages": kinds, "title": "Hi!",
             "message": "Need a hand?", "when": {"signal": "active_time", "op": ">=", "value": 1}}  # fmt: skip
    return Playbook.from_dict(source), Playbook.from_dict({**source, "triggers": [*source["triggers"], popup]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=5000)
    args = parser.parse_args()
    with open(ROOT / "demo" / "playbook.toml", "rb") as handle:
        playbook, priced_with_popup = with_popup(tomllib.load(handle))
    base = {"visits": 0, "page_views": 0, "signals": 0, "always_converted": 0, "always_bots": 0, "popup_converted": 0,
            "popup_bots": 0}  # fmt: skip
    popup_requests: list[tuple[float, MessageRequest]] = []

    def observe(persona: str, events: list[dict], converted_before: bool) -> None:
        base["visits"] += 1
        views = sum(1 for e in events if e["type"] == "page_view")
        base["page_views"] += views
        base["signals"] += sum(1 for e in events if e["type"] not in ("tick", "client"))
        if views:  # an always-on agent has no gates: it may speak to anyone
            base["always_converted"] += converted_before
            base["always_bots"] += persona == "bot"
        fire = popup_fire(events)
        if fire is not None:
            kind = playbook.page_kind(fire[1])
            kind = kind if kind not in ("support", "account") else "home"  # the cache sees one more page kind
            popup_requests.append((fire[0], MessageRequest(trigger="popup", kind="questions", page_kind=kind,
                                                           locale="en-GB")))  # fmt: skip
            base["popup_converted"] += converted_before
            base["popup_bots"] += persona == "bot"

    result = simulate(playbook, args.visitors, seed=7, observer=observe)
    result = result.priced(*price_requests(playbook, result.requests))
    popup_requests.sort(key=lambda r: r[0])
    popup_calls, _ = price_requests(priced_with_popup, popup_requests)
    per = 1000 / base["visits"]
    rows = [("Tactful", result.model_calls, result.shown_to_converted, result.shown_to_bots),
            ("popup, cached", popup_calls, base["popup_converted"], base["popup_bots"]),
            ("always-on, per page view", base["page_views"], base["always_converted"], base["always_bots"]),
            ("always-on, per signal", base["signals"], base["always_converted"], base["always_bots"])]  # fmt: skip
    print(f"SYNTHETIC: {args.visitors:,} visitors, {base['visits']:,} visits (tactful simulate's model; one run)")
    print(f"{'':<26} {'model calls / 1,000 visits':>28} {'shown to converted':>20} {'shown to bots':>15}")
    for name, calls, converted, bots in rows:
        print(f"{name:<26} {calls * per:>28.1f} {converted:>20} {bots:>15}")
    tactful = max(1, result.model_calls)
    print(f"ratios to Tactful: popup {popup_calls / tactful:.1f}x, always-on per page view {base['page_views'] / tactful:.1f}x, "
          f"per signal {base['signals'] / tactful:.0f}x. Tactful asked for words {result.message_requests * per:.1f} "
          f"times per 1,000 visits (the cache answered {1 - result.model_calls / max(1, result.message_requests):.0%}); "
          f"the popup {len(popup_requests) * per:.1f} times ({1 - popup_calls / max(1, len(popup_requests)):.0%}). "
          "Where Tactful should win is the last two columns.")


if __name__ == "__main__":
    with recorded("demo"):
        main()
