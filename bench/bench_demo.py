"""Model calls per 1,000 simulated visits: Tactful vs an "always-on" and a "popup" baseline.

All three see the same synthetic visits (``tactful simulate``'s behavioural model, one run):

* **Tactful**: the engine decides locally; only shown interventions ask for words, and the
  proxy's message cache answers repeats.
* **always-on**: every behaviour signal (every event but heartbeats) goes to the model,
  which decides whether and what to say.
* **popup**: a time-on-page popup: once a page has been open 10 s, it fires (at most once
  a visit) and asks the model for its words.

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

from tactful.lift import simulate  # noqa: E402
from tactful.playbook_file import read_playbook  # noqa: E402
from tactful.proxy import price_requests  # noqa: E402

POPUP_DWELL = 10.0


def popup_fires(events: list[dict]) -> bool:
    """Does a 10-second time-on-page popup fire during this visit?"""
    views = [e["t"] for e in events if e["type"] == "page_view"] + [events[-1]["t"]]
    return any(b - a >= POPUP_DWELL for a, b in zip(views, views[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=5000)
    args = parser.parse_args()
    playbook = read_playbook(str(ROOT / "demo" / "playbook.toml"))
    base = {"visits": 0, "always_calls": 0, "popup_calls": 0, "always_converted": 0, "always_bots": 0,
            "popup_converted": 0, "popup_bots": 0}  # fmt: skip

    def observe(persona: str, events: list[dict], converted_before: bool) -> None:
        base["visits"] += 1
        signals = sum(1 for e in events if e["type"] not in ("tick", "client"))
        base["always_calls"] += signals
        if signals:  # an always-on agent has no gates: it may speak to anyone
            base["always_converted"] += converted_before
            base["always_bots"] += persona == "bot"
        if popup_fires(events):
            base["popup_calls"] += 1
            base["popup_converted"] += converted_before
            base["popup_bots"] += persona == "bot"

    result = simulate(playbook, args.visitors, seed=7, observer=observe)
    result = result.priced(*price_requests(playbook, result.requests))
    per = 1000 / base["visits"]
    print(f"SYNTHETIC: {args.visitors:,} visitors, {base['visits']:,} visits (tactful simulate's model; one run)")
    print(f"{'':<12} {'model calls / 1,000 visits':>28} {'shown to converted':>20} {'shown to bots':>15}")
    print(f"{'Tactful':<12} {result.model_calls * per:>28.1f} {result.shown_to_converted:>20} {result.shown_to_bots:>15}")
    print(f"{'popup':<12} {base['popup_calls'] * per:>28.1f} {base['popup_converted']:>20} {base['popup_bots']:>15}")
    print(f"{'always-on':<12} {base['always_calls'] * per:>28.1f} {base['always_converted']:>20} {base['always_bots']:>15}")
    print(f"ratios: always-on/Tactful {base['always_calls'] / max(1, result.model_calls):.0f}x, "
          f"popup/Tactful {base['popup_calls'] / max(1, result.model_calls):.1f}x "
          f"(Tactful asked for words {result.message_requests * per:.1f} times per 1,000 visits; the cache answered "
          f"{1 - result.model_calls / max(1, result.message_requests):.0%})")


if __name__ == "__main__":
    main()
