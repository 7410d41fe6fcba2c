"""Per-event cost of Engine.feed over a large synthetic stream (``tactful simulate``'s visitor model), CPython.

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

from figures import recorded  # noqa: E402

from tactful.core import Replay, VisitorState, load_playbook  # noqa: E402
from tactful.lift import random_visit  # noqa: E402


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
        streams.setdefault(vid, []).extend(random_visit(rng, start))
    lines = [json.dumps(e) for events in streams.values() for e in events]
    total = len(lines)

    # Baseline, same run: json.loads of every event line.
    t0 = time.perf_counter_ns()
    for line in lines:
        json.loads(line)
    baseline_ns = (time.perf_counter_ns() - t0) / total

    costs: list[int] = []
    interventions = 0
    replay = Replay(playbook)
    t_all = time.perf_counter_ns()
    for vid, events in streams.items():
        engine = replay.engine(vid)
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
    blobs = [e.state.to_bytes() for e in replay.engines.values()]
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
    with recorded("core"):
        main()
