"""Per-event cost of Engine.feed over a large synthetic stream, CPython.

Prints events/s, p50/p99 per event, the ratio to a baseline measured in the same
run (json.loads of the same event line, the cheapest thing a replay does per
event anyway), and memory per 10,000 visitor records. This is the baseline the
Pyodide build is held to.

    python bench/bench_core.py [--sessions 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "engine"))

from tactful.core import Engine, VisitorState, load_playbook  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def session_events(rng: random.Random, t: float) -> list[dict]:
    """One visit of a random persona: browser, buyer, hesitator, comparer, reader or bot."""
    persona = rng.choices(["browser", "buyer", "hesitator", "comparer", "reader", "bot"], [30, 10, 20, 15, 15, 10])[0]
    events = [{"t": t, "type": "client", "user_agent": UA, "webdriver": persona == "bot", "languages": ["en"]}]

    def add(dt: float, **event) -> None:
        nonlocal t
        t += dt
        events.append({"t": t, **event})

    pages = {
        "browser": ["/", "/c/hats", "/p/mug", "/c/shoes", "/p/boots"],
        "buyer": ["/p/mug", "/cart", "/checkout"],
        "hesitator": ["/p/boots", "/cart"],
        "comparer": ["/", "/pricing"],
        "reader": ["/blog/care-guide"],
        "bot": ["/", "/p/mug", "/cart", "/pricing"],
    }[persona]
    for url in pages:
        add(rng.uniform(1, 5), type="page_view", url=url)
        for _ in range(rng.randint(3, 25)):
            roll = rng.random()
            if roll < 0.45:
                add(rng.uniform(0.2, 4), type="activity")
            elif roll < 0.75:
                add(rng.uniform(0.5, 6), type="scroll", depth=round(rng.random(), 2))
            elif roll < 0.85:
                add(rng.uniform(0.5, 3), type="hover", target=rng.choice(["tier:pro", "tier:team", "nav", "img"]))
            else:
                add(rng.uniform(1, 10), type="tick")
        if url.startswith("/p/") and persona in ("buyer", "hesitator"):
            add(1, type="cart", items=rng.randint(1, 3), value=rng.uniform(10, 200))
    if persona == "buyer":
        add(5, type="convert", value=rng.uniform(10, 200))
    if persona == "hesitator":
        add(rng.uniform(5, 20), type="exit_intent")
        add(rng.uniform(1, 70), type="tick")
        if rng.random() < 0.5:
            add(2, type="dismiss", trigger="cart_exit")
    return events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    playbook = load_playbook((ROOT / "demo" / "playbook.toml").read_text())
    rng = random.Random(args.seed)
    visitors = max(1, args.sessions // 2)  # on average two visits each, days apart
    streams: dict[str, list[dict]] = {}
    for i in range(args.sessions):
        vid = f"visitor-{i % visitors}"
        start = (i // visitors) * 200000.0
        streams.setdefault(vid, []).extend(session_events(rng, start))
    lines = [json.dumps(e) for events in streams.values() for e in events]
    total = len(lines)

    # Baseline, same run: json.loads of every event line.
    t0 = time.perf_counter_ns()
    for line in lines:
        json.loads(line)
    baseline_ns = (time.perf_counter_ns() - t0) / total

    costs: list[int] = []
    interventions = 0
    engines: dict[str, Engine] = {}
    t_all = time.perf_counter_ns()
    for vid, events in streams.items():
        engine = engines[vid] = Engine(playbook, visitor_id=vid)
        for event in events:
            t0 = time.perf_counter_ns()
            decisions = engine.feed((event,), event["t"])
            costs.append(time.perf_counter_ns() - t0)
            interventions += sum(1 for d in decisions if d.intervene)
    elapsed = (time.perf_counter_ns() - t_all) / 1e9
    costs.sort()
    p50 = costs[len(costs) // 2] / 1000
    p99 = costs[int(len(costs) * 0.99)] / 1000
    mean_ns = statistics.fmean(costs)

    # Memory of 10,000 visitor records held as objects, and their stored size.
    blobs = [e.state.to_bytes() for e in engines.values()]
    sample = (blobs * (10000 // len(blobs) + 1))[:10000]
    tracemalloc.start()
    held = [VisitorState.from_bytes(b) for b in sample]
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held

    print(f"tactful core benchmark: {args.sessions} sessions, {len(streams)} visitors, {total} events")
    print(f"  feed: {total / elapsed:,.0f} events/s (timed loop incl. bookkeeping)")
    print(f"  per event: mean {mean_ns / 1000:.1f} us, p50 {p50:.1f} us, p99 {p99:.1f} us")
    print(f"  baseline json.loads per event line: {baseline_ns / 1000:.2f} us")
    print(f"  ratio feed/json.loads (mean): {mean_ns / baseline_ns:.1f}x")
    print(f"  interventions: {interventions}")
    print(f"  10,000 visitor records: {peak / 1e6:.1f} MB peak in memory, {sum(len(b) for b in sample) / 1e6:.2f} MB as msgpack "
          f"({sum(len(b) for b in sample) / len(sample):.0f} B each)")


if __name__ == "__main__":
    main()
