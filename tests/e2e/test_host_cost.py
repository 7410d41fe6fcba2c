"""What the loader costs the host page's main thread, counted where timing would be noise.

The loader asks V8 to compile all of its functions while the async script streams in (the
``//# allFunctionsCalledOnLoad`` hint the build puts first in tactful.js). Without it, each
function is compiled on the main thread the first time it runs: at start-up, and on the first
pointer move, wheel and click. The test counts V8's lazy compilations on the page's main thread
over the same visit, with the loader as built and with the same loader minus its first line.
"""

from __future__ import annotations

import json

from e2e_helpers import new_visitor, settled, wait_ready

HINT = b"//# allFunctionsCalledOnLoad\n"


def lazy_compiles(browser, site, loader: bytes) -> int:
    """Main-thread ``V8.CompileCode`` events over one visit with ``loader`` served as tactful.js."""
    context = new_visitor(browser)
    page = context.new_page()
    page.route("**/tactful/tactful.js", lambda route: route.fulfill(
        status=200, body=loader, headers={"content-type": "text/javascript", "cache-control": "no-store"}))  # fmt: skip
    browser.start_tracing(page=page, categories=["devtools.timeline", "disabled-by-default-v8.compile"])
    page.goto(site.url + "/site/cart.html")
    assert wait_ready(page)["enabled"] is True
    for i in range(10):
        page.mouse.move(200 + 20 * i, 300 + 10 * i)
        page.mouse.wheel(0, 40)
    page.click("[data-add]")
    settled(page)
    events = json.loads(browser.stop_tracing())["traceEvents"]
    context.close()
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    return sum(1 for e in events if e.get("name") == "V8.CompileCode" and threads.get((e["pid"], e["tid"])) == "CrRendererMain")


def test_the_loader_compiles_off_the_main_thread_before_it_runs(human_browser, site):
    built = (site.dist / "tactful.js").read_bytes()
    assert built.startswith(HINT)  # first, where V8 looks for it
    without = lazy_compiles(human_browser, site, built[len(HINT):])
    hinted = lazy_compiles(human_browser, site, built)
    print(f"\nlazy compilations on the main thread: {without} without the hint, {hinted} with it")
    # The loader has about 80 functions that run in such a visit; the page, Playwright's helpers and
    # the widget (not shown here) account for the rest, alike in both runs.
    assert without - hinted >= 40, (without, hinted)
