"""The ``tactful`` command line.

    tactful check PLAYBOOK                      validate a playbook (exit 2 with the errors)
    tactful replay --playbook P [--events F|-]  JSONL events in, JSONL decisions out
    tactful build [--out dist]                  the self-contained browser bundle
    tactful serve [--config tactful.toml]       the message proxy (--workers N processes)
    tactful demo                                the demo shop, bundle and proxy on one port
    tactful simulate --visitors N               synthetic traffic, stored as synthetic outcomes
    tactful report                              the lift report (terminal + HTML)
    tactful leads [list|retry|purge]            the lead outbox: list deliveries, retry or purge dead letters
    tactful privacy [--playbook P] [--json]     what Tactful stores and sends (the data inventory)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from tactful import resources
from tactful.core import LineProblem, Playbook, PlaybookError, Replay, lint, replay_lines
from tactful.playbook_file import read_playbook

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_INVALID = 2


def _print_problems(path: str, err: PlaybookError, out: IO[str]) -> None:
    print(f"{path}: invalid playbook ({len(err.problems)} problem{'s' if len(err.problems) != 1 else ''})", file=out)
    for field, message in err.problems:
        print(f"  {field or '(top level)'}: {message}", file=out)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        playbook = read_playbook(args.playbook)
    except PlaybookError as err:
        _print_problems(args.playbook, err, sys.stderr)
        return EXIT_INVALID
    phases = sorted({t.phase for t in playbook.triggers})
    live = sum(1 for t in playbook.triggers if t.phase <= playbook.phase)
    print(
        f"{args.playbook}: ok — site {playbook.site!r}, {len(playbook.triggers)} triggers "
        f"(phases {', '.join(map(str, phases))}; {live} live at phase {playbook.phase}), "
        f"holdout {playbook.holdout.fraction:.0%}"
    )
    for trig in playbook.triggers:
        state = "live" if trig.phase <= playbook.phase else "off"
        offer = f" offer={trig.offer.id}" if trig.offer else ""
        print(f"  {trig.id:<20} phase {trig.phase} {state:<4} {trig.kind:<12} pages={','.join(trig.pages)}{offer}")
    findings = lint(playbook)
    for finding in findings:
        print(f"warning: {finding}")
    if findings:
        print(f"{len(findings)} warning{'s' if len(findings) != 1 else ''}"
              + (" (--strict: failing)" if args.strict else " (--strict turns them into errors)"))  # fmt: skip
        if args.strict:
            return EXIT_INVALID
    return EXIT_OK


REPLAY_FIELDS = ("visitor", "t", "action", "trigger", "kind", "offer", "arm", "reasons", "eligible")


def replay(playbook: Playbook, lines: IO[str], out: IO[str], err: IO[str]) -> dict[str, Any]:
    """Replay JSONL events (each with a ``visitor``) and write one JSONL line per decision.

    Visitors are independent; each keeps its state across its sessions in the log.
    Returns totals: events, visitors, decisions, bad lines and skipped events.
    """
    driver = Replay(playbook)
    seen = [0]

    def counted(source: IO[str]):
        for line in source:
            seen[0] += bool(line.strip())
            yield line

    problems = decisions = skipped_lines = 0
    for item in replay_lines(driver, counted(lines)):
        if isinstance(item, LineProblem):
            print(f"line {item.line}: {item.message}", file=err)
            if item.skipped_event:
                skipped_lines += 1
            else:
                problems += 1
            continue
        row = {"visitor": item.visitor, **item.decision.to_dict()}
        print(json.dumps({k: row[k] for k in REPLAY_FIELDS if k in row}), file=out)
        decisions += 1
    return {
        "lines": seen[0],
        "events": seen[0] - problems - skipped_lines,
        "decisions": decisions,
        "bad_lines": problems,
        "visitors": len(driver.engines),
        "skipped": driver.skipped,
    }


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        playbook = read_playbook(args.playbook)
    except PlaybookError as err:
        _print_problems(args.playbook, err, sys.stderr)
        return EXIT_INVALID
    if args.events == "-":
        totals = replay(playbook, sys.stdin, sys.stdout, sys.stderr)
    else:
        try:
            with open(args.events, encoding="utf-8") as handle:
                totals = replay(playbook, handle, sys.stdout, sys.stderr)
        except OSError as exc:
            print(f"cannot read {args.events}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    skipped = ", ".join(f"{r}={n}" for r, n in sorted(totals["skipped"].items())) or "none"
    print(
        f"replayed {totals['events']} events from {totals['visitors']} visitors: "
        f"{totals['decisions']} decisions; bad lines {totals['bad_lines']}; skipped events: {skipped}",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from tactful.bundle import BYTECODE_CHOICES, BuildError, build

    try:
        report = build(Path(args.out), Path(args.playbook), packages=args.packages, test=args.test,
                       bytecode=BYTECODE_CHOICES[args.bytecode])  # fmt: skip
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return EXIT_INVALID
    print(report.table())
    print(f"built {len(report.files)} files into {args.out}/ (serve it under one prefix, e.g. /tactful/)")
    if args.test:
        print("TEST BUILD: it accepts automated browsers and chosen arms (tactful.testing). Never deploy it.")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from tactful.proxy import ConfigError, load_config, serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("playbook", args.playbook),
                                   ("workers", args.workers)) if v is not None}  # fmt: skip
    try:
        config = load_config(args.config, **overrides)
        if config.playbook is None:
            raise ConfigError("no playbook: pass --playbook, or set server.playbook in tactful.toml (or TACTFUL_PLAYBOOK)")
        read_playbook(config.playbook)
    except ConfigError as err:
        print(f"bad configuration: {err}", file=sys.stderr)
        return EXIT_INVALID
    except PlaybookError as err:
        _print_problems(str(config.playbook), err, sys.stderr)
        return EXIT_INVALID
    if config.workers < 1:
        print("bad configuration: workers must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    store = "PostgreSQL" if config.database_url else f"SQLite in {config.data_dir}"
    state = "Redis" if config.redis_url else "each process's memory"
    print(f"tactful proxy on http://{config.host}:{config.port} (writer: {config.provider}; {config.workers} "
          f"process{'es' if config.workers > 1 else ''}; records: {store}; limits and cache: {state})", flush=True)  # fmt: skip
    serve(config, serve_app(config) if config.workers == 1 else None, factory="tactful.cli:worker_app")
    return EXIT_OK


def serve_app(config):
    """The proxy as ``tactful serve`` runs it: with the lift's judge, so harmful triggers pause themselves."""
    from tactful.lift import judge_triggers
    from tactful.proxy import create_app

    return create_app(config, judge=judge_triggers)


def worker_app():
    """One ``tactful serve --workers N`` process's app (uvicorn imports it by name)."""
    from tactful.proxy import worker_config

    return serve_app(worker_config())


def _proxy_config(args: argparse.Namespace, **defaults):
    from tactful.proxy import load_config

    overrides = {k: v for k, v in defaults.items() if v is not None}
    for key in ("host", "port", "data_dir", "playbook"):
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    return load_config(getattr(args, "config", None), **overrides)


def _playbook_or_demo(config) -> Playbook:
    """The configured playbook; the demo shop's when none is set (said aloud: never silently)."""
    if config.playbook is None:
        print(f"(no playbook set: using the demo shop's, {resources.demo_playbook()}; pass --playbook)", file=sys.stderr)
        return read_playbook(resources.demo_playbook())
    return read_playbook(config.playbook)


def cmd_demo(args: argparse.Namespace) -> int:
    from tactful.bundle import BuildError
    from tactful.demo import run_demo
    from tactful.proxy import ConfigError

    try:
        config = _proxy_config(args, port=args.port or 8000, playbook=resources.demo_playbook())
        # The shop and its proxy share one origin; the proxy learns it from here, never from a Host header.
        config = replace(config, public_origin=f"http://{config.host}:{config.port}",
                         allowed_origins=(*config.allowed_origins, f"http://localhost:{config.port}"))  # fmt: skip
    except ConfigError as err:
        print(f"bad configuration: {err}", file=sys.stderr)
        return EXIT_INVALID
    try:
        default = Path(config.data_dir) / ("dist-test" if args.test else "dist")
        run_demo(config, Path(args.dist) if args.dist else default, test=args.test)
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _with_store(config, work):
    """``await work(store)`` with the configured store, started and closed around it."""
    from tactful.proxy import open_store

    async def run():
        store = open_store(config)
        await store.start()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with ThreadPoolExecutor(1) as pool:  # called from code with a running loop (a test, a notebook)
        return pool.submit(asyncio.run, run()).result()


def cmd_simulate(args: argparse.Namespace) -> int:
    from tactful.lift import simulate
    from tactful.proxy import price_requests

    config = _proxy_config(args)
    playbook = _playbook_or_demo(config)
    uplift = {}
    for item in args.uplift or []:
        name, _, value = item.partition("=")
        try:
            uplift[name.strip()] = float(value)
        except ValueError:
            print(f"--uplift {item!r}: expected TRIGGER[:VARIANT]=CHANGE, e.g. cart_exit:ship=0.1", file=sys.stderr)
            return EXIT_USAGE
    result = simulate(playbook, args.visitors, seed=args.seed, uplift=uplift)
    result = result.priced(*price_requests(playbook, result.requests))
    meta = {"visitors": result.visitors, "visits": result.visits, "model_calls": result.model_calls,
            "cost_usd": result.cost_usd, "message_requests": result.message_requests}  # fmt: skip
    _with_store(config, lambda store: store.replace_synthetic(result.outcomes, meta, time.time()))
    print(f"SYNTHETIC: {result.visitors:,} visitors, {result.visits:,} visits, {result.interventions:,} interventions, "
          f"{result.model_calls:,} model calls (${result.cost_usd:.4f}); shown to converted visitors "
          f"{result.shown_to_converted}, to bots {result.shown_to_bots}; stored in {config.data_dir}/ as synthetic")  # fmt: skip
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from tactful.demo import report_from_store
    from tactful.lift import outcomes_csv, render_html, render_text

    config = _proxy_config(args)
    playbook = _playbook_or_demo(config)
    if not config.database_url and not (Path(config.data_dir) / "tactful.sqlite3").exists():
        print(f"no outcomes yet in {config.data_dir}/ (run the demo, or tactful simulate)", file=sys.stderr)
        return EXIT_USAGE
    options = {"window_days": args.window, "include_test": args.include_test}
    summary = _with_store(config, lambda store: report_from_store(store, playbook.holdout.fraction, args.data,
                                                                  playbook, **options))  # fmt: skip
    print(render_text(summary), end="")
    Path(args.out).write_text(render_html(summary))
    print(f"\nHTML report: {args.out}")
    if args.csv:
        Path(args.csv).write_text(outcomes_csv(summary))
        print(f"CSV of eligible visitors: {args.csv}")
    return EXIT_OK


def cmd_leads(args: argparse.Namespace) -> int:
    from tactful.proxy import BackendDown, ConfigError

    try:
        config = _proxy_config(args)
    except ConfigError as err:
        print(f"bad configuration: {err}", file=sys.stderr)
        return EXIT_INVALID

    async def work(store) -> None:
        if args.action == "retry":
            print(f"{await store.retry_dead(time.time())} dead letters back in the queue, due now (the running "
                  "proxy delivers them, retrying for another leads.retry_for)")  # fmt: skip
        elif args.action == "purge":
            print(f"{await store.purge_dead()} dead letters deleted (their leads stay until the retention limit)")
        else:
            _print_deliveries(await store.deliveries(args.state))

    try:
        _with_store(config, work)
    except BackendDown as err:
        print(f"the store cannot answer: {err.reason}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _print_deliveries(rows: list[dict]) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row["created"]))
        print(f"{row['lead_id']}  {when}Z  {row['state']:<9} {row['target']:<7} {row['attempts']:>3} tries  "
              f"{row['trigger']:<16} {row['email']}" + (f"\n    last error: {row['last_error']}" if row["last_error"] else ""))  # fmt: skip
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"
    print(f"{len(rows)} deliveries: {summary}")


def cmd_privacy(args: argparse.Namespace) -> int:
    from tactful.core import inventory, inventory_text
    from tactful.proxy import ConfigError

    try:
        config = _proxy_config(args)
        playbook = _playbook_or_demo(config)
    except ConfigError as err:
        print(f"bad configuration: {err}", file=sys.stderr)
        return EXIT_INVALID
    except PlaybookError as err:
        _print_problems(str(args.playbook), err, sys.stderr)
        return EXIT_INVALID
    retention = {"lead_retention_days": config.lead_retention_days, "outcome_retention_days": config.outcome_retention_days}
    data = inventory(playbook.privacy, playbook.honor_gpc, retention)
    print(json.dumps(data, indent=1) if args.json else inventory_text(data), end="\n" if args.json else "")
    return EXIT_OK


def _add_build(sub) -> None:
    bld = sub.add_parser("build", help="assemble the self-contained browser bundle")
    bld.add_argument("--out", default="dist", help="output directory (default: dist)")
    bld.add_argument("--playbook", required=True, help="the playbook to ship (.toml or .json)")
    bld.add_argument("--packages", choices=("zip", "lock"), default="zip",
                     help="how the browser loads the engine: one zip on sys.path (default, the faster start), "
                          "or two wheels through Pyodide's loader and micropip's lock")
    bld.add_argument("--bytecode", choices=("budget", "all"), default="budget",
                     help="the standard library as bytecode within the first-visit byte budget (default), or all of "
                          "it: a cold start about twice as fast, about 220 KB more brotli on a first visit")
    bld.add_argument("--test", action="store_true",
                     help="a bundle for end-to-end test suites (tactful.testing): never deploy it")
    bld.set_defaults(func=cmd_build)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tactful", description="Proactive chat that waits for a real signal.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a playbook")
    check.add_argument("playbook", help="playbook file (.toml or .json)")
    check.add_argument("--strict", action="store_true", help="exit 2 when there are warnings, too")
    check.set_defaults(func=cmd_check)
    rep = sub.add_parser("replay", help="replay JSONL events through the engine")
    rep.add_argument("--playbook", required=True, help="playbook file (.toml or .json)")
    rep.add_argument("--events", default="-", help="JSONL file, or - for standard input (default)")
    rep.set_defaults(func=cmd_replay)
    _add_build(sub)
    srv = sub.add_parser("serve", help="run the message proxy (ASGI, loopback by default)")
    srv.add_argument("--config", default=None, help="tactful.toml (default: embedded defaults)")
    srv.add_argument("--host", default=None)
    srv.add_argument("--port", type=int, default=None)
    srv.add_argument("--playbook", default=None, help="the site's playbook (or server.playbook in the config)")
    srv.add_argument("--workers", type=int, default=None,
                     help="processes serving the port (default 1; with more, set redis_url for global limits)")
    srv.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="the demo shop with Tactful live on it, on one loopback port")
    demo.add_argument("--config", default=None, help="tactful.toml for the proxy (default: embedded defaults)")
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None, help="default 8000")
    demo.add_argument("--data-dir", dest="data_dir", default=None, help="default .tactful")
    demo.add_argument("--dist", default=None, help="where the bundle is built (default: DATA_DIR/dist)")
    demo.add_argument("--test", action="store_true", help="serve a test build (for end-to-end suites; tactful.testing)")
    demo.set_defaults(func=cmd_demo)
    sim = sub.add_parser("simulate", help="synthetic traffic through the engine, stored as synthetic outcomes")
    sim.add_argument("--visitors", type=int, default=5000)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--uplift", action="append", metavar="TRIGGER[:VARIANT]=CHANGE",
                     help="the assumed change in the chance to buy once shown (e.g. cart_exit:ship=0.1, "
                          "pricing_compare=-0.08 for a trigger that hurts); repeatable")
    sim.add_argument("--config", default=None)
    sim.add_argument("--playbook", default=None, help="default: the demo shop's")
    sim.add_argument("--data-dir", dest="data_dir", default=None)
    sim.set_defaults(func=cmd_simulate)
    rep2 = sub.add_parser("report", help="the lift report: terminal summary and an HTML page")
    rep2.add_argument("--out", default="tactful-report.html")
    rep2.add_argument("--data", choices=("auto", "real", "synthetic"), default="auto",
                      help="which outcomes: real ones when there are any (auto), or one kind")
    rep2.add_argument("--window", type=float, default=7.0, help="attribution window in days (default 7)")
    rep2.add_argument("--include-test", dest="include_test", action="store_true",
                      help="count beacons from test builds (tactful build --test) as traffic")
    rep2.add_argument("--csv", default=None, help="also write the eligible visitors as CSV for a warehouse")
    rep2.add_argument("--config", default=None)
    rep2.add_argument("--playbook", default=None, help="default: the demo shop's")
    rep2.add_argument("--data-dir", dest="data_dir", default=None)
    rep2.set_defaults(func=cmd_report)
    _operations(sub)
    return parser


def _operations(sub) -> None:
    """The commands an operator runs beside the proxy: the lead outbox and the data inventory."""
    leads = sub.add_parser("leads", help="the lead outbox: list deliveries, retry or purge dead letters")
    leads.add_argument("action", nargs="?", choices=("list", "retry", "purge"), default="list")
    leads.add_argument("--state", choices=("pending", "delivered", "dead"), default=None,
                       help="list only deliveries in this state")
    leads.add_argument("--config", default=None)
    leads.add_argument("--data-dir", dest="data_dir", default=None)
    leads.set_defaults(func=cmd_leads)
    priv = sub.add_parser("privacy", help="what Tactful stores in the browser, sends, and keeps on the server")
    priv.add_argument("--playbook", default=None, help="default: the demo shop's")
    priv.add_argument("--config", default=None, help="tactful.toml (for the retention limits)")
    priv.add_argument("--json", action="store_true", help="the inventory as JSON (what the build writes)")
    priv.set_defaults(func=cmd_privacy)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
