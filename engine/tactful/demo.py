"""``tactful demo``: the demo shop, the bundle and the proxy on one loopback port.

    /                the shop (demo/site), integrated exactly as the README tells a site owner
    /tactful/        the browser bundle (built on first run into .tactful/dist)
    /tactful-api/    the proxy (template writer unless a model key is in the environment)
    /report          the lift report from the stored outcomes
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tactful import resources
from tactful.bundle import BundleApp, ensure_built
from tactful.lift import Summary, build_report, render_html
from tactful.proxy import Store, create_app, serve


async def report_from_store(store: Store, holdout_fraction: float, include: str = "auto") -> Summary:
    """The lift report over a proxy store's outcomes, with each kind of traffic's model calls and cost."""
    meta = await store.get_meta("synthetic", {}) or {}
    spend = await store.spend_total()
    return build_report(
        await store.outcomes(),
        holdout_fraction,
        include,
        synthetic_costs=(int(meta.get("model_calls", 0)), float(meta.get("cost_usd", 0.0))),
        real_costs=(int(spend["calls"]), float(spend["spent"])),
    )


def create_demo_app(config, dist: Path, site: Path | None = None) -> Starlette:
    proxy_app = create_app(config)
    proxy = proxy_app.state.proxy

    async def report(request):
        choice = request.query_params.get("data", "auto")
        choice = choice if choice in ("auto", "real", "synthetic") else "auto"
        summary = await report_from_store(proxy.store, proxy.playbook.holdout.fraction, choice)
        rows = await proxy.store.outcomes()
        synthetic = sum(r["synthetic"] for r in rows)
        nav = (f'<p>Data shown: <strong>{"synthetic" if summary.synthetic else "real"}</strong>. '
               f'<a href="/report?data=real">Real visits ({len(rows) - synthetic})</a> · '
               f'<a href="/report?data=synthetic">Synthetic visits ({synthetic})</a> '
               "(add some with <code>tactful simulate</code>)</p>")  # fmt: skip
        return HTMLResponse(render_html(summary, nav))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with proxy_app.lifespan_context(proxy_app):  # a mounted app's lifespan is ours to run
            yield

    app = Starlette(
        routes=[
            Route("/report", report),
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
