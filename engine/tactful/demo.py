"""``tactful demo``: the demo shop, the bundle and the proxy on one loopback port.

    /                the shop (demo/site), integrated exactly as the README tells a site owner
    /tactful/        the browser bundle (built on first run into .tactful/dist)
    /tactful-api/    the proxy (template writer unless a model key is in the environment)
    /report          the lift report from the stored outcomes
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tactful import resources
from tactful.bundle import BundleApp, ensure_built
from tactful.lift import Summary, build_report, judge_triggers, render_html
from tactful.proxy import ProxyError, Store, create_app, serve


async def report_from_store(store: Store, holdout_fraction: float, include: str = "auto", playbook=None,
                            **options) -> Summary:  # fmt: skip
    """The lift report over a proxy store: outcomes, the shop's confirmed purchases, the review log,
    refused beacons and paused triggers, with each kind of traffic's model calls and cost.
    ``options``: ``window_days``, ``include_test`` (see ``tactful.lift.build_report``)."""
    meta = await store.get_meta("synthetic", {}) or {}
    spend = await store.spend_total()
    conversions = await store.conversions()
    currencies = [c.get("currency") for c in conversions if c.get("currency")]
    return build_report(
        await store.outcomes(),
        holdout_fraction,
        include,
        synthetic_costs=(int(meta.get("model_calls", 0)), float(meta.get("cost_usd", 0.0))),
        real_costs=(int(spend["calls"]), float(spend["spent"])),
        conversions=conversions,
        offers=dict(playbook.offers) if playbook is not None else {},
        paused={t: f"{p['why']} (since {dt.datetime.fromtimestamp(p['since'], dt.UTC):%Y-%m-%d %H:%M} UTC)"
                for t, p in (await store.get_meta("paused", {}) or {}).items()},
        said=await store.said(200),
        refusals=await store.refusals(),
        currency=max(set(currencies), key=currencies.count) if currencies else "",
        **options,
    )


def create_demo_app(config, dist: Path, site: Path | None = None) -> Starlette:
    proxy_app = create_app(config, judge=judge_triggers)
    proxy = proxy_app.state.proxy

    async def report(request):
        choice = request.query_params.get("data", "auto")
        choice = choice if choice in ("auto", "real", "synthetic") else "auto"
        summary = await report_from_store(proxy.store, proxy.playbook.holdout.fraction, choice, proxy.playbook,
                                          include_test=request.query_params.get("test") == "1")
        rows = await proxy.store.outcomes()
        synthetic = sum(r["synthetic"] for r in rows)
        nav = (f'<p>Data shown: <strong>{"synthetic" if summary.synthetic else "real"}</strong>. '
               f'<a href="/report?data=real">Real visits ({len(rows) - synthetic})</a> · '
               f'<a href="/report?data=synthetic">Synthetic visits ({synthetic})</a> '
               "(add some with <code>tactful simulate</code>)</p>")  # fmt: skip
        return HTMLResponse(render_html(summary, nav))

    async def order(request):
        # The demo shop's own server: it confirms each order to Tactful as a real shop's server would
        # with POST /v1/conversion and the site secret (in-process here: the same checks, the same store).
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        try:
            return await proxy.confirm(body)
        except ProxyError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with proxy_app.lifespan_context(proxy_app):  # a mounted app's lifespan is ours to run
            yield

    app = Starlette(
        routes=[
            Route("/report", report),
            Route("/shop/order", order, methods=["POST"]),
            Mount("/tactful-api", app=proxy_app),
            Mount("/tactful", app=BundleApp(dist)),  # precompressed, cached as a good static host would
            Mount("/", app=StaticFiles(directory=site or resources.demo_dir() / "site", html=True)),
        ],
        lifespan=lifespan,
    )
    app.state.proxy = proxy
    return app


def run_demo(config, out: Path, test: bool = False) -> None:
    dist = ensure_built(out, resources.demo_playbook(), test=test)
    app = create_demo_app(config, dist)
    print(f"Tactful demo shop: http://{config.host}:{config.port}/  (writer: {config.provider}; "
          f"lift report: /report; Ctrl-C stops){'  TEST BUILD' if test else ''}", flush=True)  # fmt: skip
    serve(config, app)
