"""The browser bundle, measured in Debian's Chromium, side by side in one run.

1. Per-event decision time inside the worker (Pyodide) vs the same events through the
   same Host.feed in CPython: the ratio.
2. The host page's main thread, with Tactful vs the same page without it: long tasks
   (target 0) and total script time (Chrome's Performance metrics), for one scripted visit.
3. Engine-ready time, cold (empty cache) and warm (repeat visit).
4. Bytes transferred on a first and a repeat visit (gzip on the wire, immutable caching
   for content-addressed files, as a static host would serve them).

    python bench/bench_browser.py [--sessions 300]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "engine"), str(ROOT / "tests" / "e2e"), str(ROOT / "bench")]

from site_server import SiteServer  # noqa: E402

from tactful.bundle import ensure_built  # noqa: E402
from tactful.core import Host  # noqa: E402
from tactful.lift import random_visit  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-dev-shm-usage", "--disable-blink-features=AutomationControlled"]  # fmt: skip
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
LONGTASKS = """window.__longtasks = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(e.duration); })
  .observe({ type: "longtask", buffered: true });"""


def stats(costs_ms: list[float]) -> dict[str, float]:
    ordered = sorted(costs_ms)
    return {
        "mean_us": statistics.fmean(ordered) * 1000,
        "p50_us": ordered[len(ordered) // 2] * 1000,
        "p99_us": ordered[int(len(ordered) * 0.99)] * 1000,
    }


def cpython_feed(playbook: str, streams: list) -> dict:
    costs = []
    for visitor, events in streams:
        host = Host(playbook, visitor, "")
        for event in events:
            t0 = time.perf_counter()
            host.feed(json.dumps([event]), event["t"])
            costs.append((time.perf_counter() - t0) * 1000)
    return stats(costs)


def scripted_visit(page, with_tactful: bool) -> None:
    if with_tactful:
        deadline = time.monotonic() + 60
        while not page.evaluate("window.tactful && window.tactful.ready.then(s => s.enabled)"):
            if time.monotonic() > deadline:
                raise RuntimeError("engine did not start")
            time.sleep(0.1)
    page.click("[data-add]")
    for i in range(30):
        page.mouse.move(200 + 10 * i, 300 + (i % 5) * 20)
        page.mouse.wheel(0, 40)
        time.sleep(0.05)
    page.wait_for_timeout(1500)


def main_thread(browser, url: str, with_tactful: bool) -> dict:
    context = browser.new_context(user_agent=UA)
    context.add_init_script(LONGTASKS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url)
    scripted_visit(page, with_tactful)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    longtasks = page.evaluate("window.__longtasks")
    context.close()
    return {"script_ms": metrics["ScriptDuration"] * 1000, "task_ms": metrics["TaskDuration"] * 1000,
            "longtasks": len(longtasks), "longtask_ms": sum(longtasks)}  # fmt: skip


def ready_and_bytes(browser, site, url: str) -> list[dict]:
    """Counted by the server, so the worker's own fetches (runtime, wheels) are included."""
    context = browser.new_context(user_agent=UA)
    visits = []
    for _ in range(2):  # first visit (cold), then a repeat visit (warm HTTP cache)
        page = context.new_page()
        before = len(site.sent)
        page.goto(url)
        state = None
        deadline = time.monotonic() + 90
        while not state and time.monotonic() < deadline:
            state = page.evaluate("window.__s || (window.tactful.ready.then(s => (window.__s = s)) && null)")
            time.sleep(0.05)
        page.wait_for_timeout(500)
        sent = site.sent[before:]
        visits.append({"ready_ms": state["ms"], "bytes": sum(n for _, n in sent), "requests": len(sent)})
        page.close()
    context.close()
    return visits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    dist = ensure_built(ROOT / "build" / "cache" / "dist")
    manifest = json.loads((dist / "manifest.json").read_text())
    playbook = (dist / manifest["assets"]["playbook"]).read_text()
    rng = random.Random(11)
    streams = [[f"bench-{i}", random_visit(rng, 0.0)] for i in range(args.sessions)]
    total_events = sum(len(e) for _, e in streams)
    cpython = cpython_feed(playbook, streams)

    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp)
        cart = (ROOT / "tests" / "e2e" / "site" / "cart.html").read_text()
        stripped = "\n".join(line for line in cart.splitlines() if "tactful.js" not in line)
        (bare / "cart.html").write_text(stripped)
        for name in ("shop.js", "site.css"):
            (bare / name).write_bytes((ROOT / "tests" / "e2e" / "site" / name).read_bytes())
        extra = {"/bench/": ROOT / "bench" / "browser", "/bare/": bare}
        with SiteServer(dist, extra=extra) as site, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(site.url + "/site/home.html")
            result = page.evaluate(
                """(args) => new Promise((resolve) => {
                    const w = new Worker("/bench/worker_bench.js", { type: "module" });
                    w.onmessage = (e) => resolve(e.data);
                    w.postMessage(args);
                })""",
                {
                    "runtime": f"{site.url}/tactful/{manifest['assets']['runtime']}",
                    "wheels": [f"{site.url}/tactful/{w['url']}" for w in manifest["assets"]["wheels"]],
                    "playbook": playbook,
                    "streams": streams,
                },
            )
            page.close()
            worker = stats(result["costs"])
            worker["mean_us"] = result["total"] * 1000 / total_events
            with_t = [main_thread(browser, site.url + "/site/cart.html", True) for _ in range(3)]
            without = [main_thread(browser, site.url + "/bare/cart.html", False) for _ in range(3)]
            visits = ready_and_bytes(browser, site, site.url + "/site/cart.html")
            browser.close()

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    print(f"tactful browser benchmark ({args.sessions} sessions, {total_events} events; Chromium, one run)")
    print("1. per-event decision time, Host.feed with JSON in/out, one event per call")
    print(f"   worker (Pyodide): mean {worker['mean_us']:.1f} us, p50 {worker['p50_us']:.0f} us, p99 {worker['p99_us']:.0f} us "
          "(performance.now() in a worker is coarsened to ~100 us; the mean is exact)")
    print(f"   CPython:          mean {cpython['mean_us']:.1f} us, p50 {cpython['p50_us']:.1f} us, p99 {cpython['p99_us']:.1f} us")
    print(f"   ratio worker/CPython (mean): {worker['mean_us'] / cpython['mean_us']:.2f}x")
    print("2. host page main thread over one scripted visit (median of 3)")
    print(f"   long tasks: with Tactful {med(with_t, 'longtasks'):.0f} ({med(with_t, 'longtask_ms'):.0f} ms), "
          f"without {med(without, 'longtasks'):.0f} ({med(without, 'longtask_ms'):.0f} ms)")
    added = med(with_t, "script_ms") - med(without, "script_ms")
    print(f"   script time: with {med(with_t, 'script_ms'):.1f} ms, without {med(without, 'script_ms'):.1f} ms, "
          f"added {added:.1f} ms")
    print("3. engine ready (ms after navigation start)")
    print(f"   cold {visits[0]['ready_ms']} ms, warm {visits[1]['ready_ms']} ms, ratio warm/cold "
          f"{visits[1]['ready_ms'] / visits[0]['ready_ms']:.2f}")
    print("4. bytes transferred (gzip on the wire)")
    print(f"   first visit {visits[0]['bytes']:,} B in {visits[0]['requests']} requests; "
          f"repeat visit {visits[1]['bytes']:,} B in {visits[1]['requests']} requests")


if __name__ == "__main__":
    main()
