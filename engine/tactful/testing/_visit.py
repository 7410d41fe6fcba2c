"""One visitor in a Playwright browser context, with the engine's time in the test's hands."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SECOND = 1000  # Playwright clock units
BOOT_MS = 2500  # the loader starts the engine in idle time, within 2 s of the page's load
ROOT = "document.getElementById('tactful-root')"
SECTION = f"({ROOT} && {ROOT}.shadowRoot && {ROOT}.shadowRoot.querySelector('section'))"
ARMS = ("treatment", "holdout")


def poll(page, expression: str, timeout: float = 20.0) -> Any:
    """``expression``'s first truthy value (page.wait_for_function does not work under a strict CSP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {expression}")


def wait_ready(page, timeout: float = 90.0) -> dict:
    """``tactful.ready``'s state ({enabled, arm, bot, ...}), once it has settled.

    With the page's clock frozen, it is moved on just enough for the loader to boot (it starts the
    engine in idle time); the engine's own start takes real time."""
    frozen = getattr(page.context, "_tactful_frozen", False)
    advanced = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate("() => window.__tactfulReady || (window.tactful && window.tactful.ready && "
                              "window.tactful.ready.then(s => (window.__tactfulReady = s)) && null)")  # fmt: skip
        if state:
            return state
        if frozen and advanced < BOOT_MS:
            page.context.clock.run_for(250)
            advanced += 250
        time.sleep(0.1)
    raise AssertionError("tactful.ready did not settle")


def page_time(page, offset_ms: int = 0) -> datetime:
    return datetime.fromtimestamp((page.evaluate("Date.now()") + offset_ms) / 1000, tz=UTC)


def freeze(page, context=None) -> None:
    """Stop the page's clock where it is: from now on time moves only when the test moves it (the
    engine's worker keeps running in real time, so it still answers)."""
    context = context or page.context
    for ahead in (250, 1000, 4000):
        try:
            context.clock.pause_at(page_time(page, ahead))
            break
        except Exception as err:  # "Cannot fast-forward to the past": the clock ran on; aim further ahead
            if "past" not in str(err):
                raise
    context._tactful_frozen = True


def settled(page) -> None:
    """Wait until the engine has decided every event and every instant up to now (``tactful.settled()``)."""
    if page.evaluate("() => tactful.settled()") is not True:
        raise AssertionError("Tactful is not running on this page (tactful.ready says why)")


def leave_through_top(page) -> None:
    """The pointer heads up and out of the window, a frame (16 ms of page time) between moves."""
    for y in (400, 330, 260, 190, 120, 45, -30):
        page.mouse.move(500, y)
        page.context.clock.run_for(16)


def card(page, timeout: float = 20.0) -> Card:
    """The card on the page, once it is there (the decision comes first, its words a moment later)."""
    poll(page, f"() => !!{SECTION}", timeout)
    info = page.evaluate(f"""() => {{ const s = {SECTION};
        const offer = s.querySelector('[data-tactful-offer]');
        return {{ kind: s.dataset.tactfulKind, trigger: s.dataset.tactfulTrigger, text: s.innerText,
                 offer: offer ? offer.dataset.tactfulOffer || null : null }}; }}""")
    return Card(page, info["kind"], info["trigger"], info["text"], info["offer"])


@dataclass
class Card:
    """An intervention as the visitor sees it, with its controls."""

    page: Any = field(repr=False)
    kind: str
    trigger: str
    text: str
    offer: str | None

    def _click(self, selector: str) -> None:
        poll(self.page, f"() => !!({ROOT}.shadowRoot.querySelector({selector!r}))")
        self.page.evaluate(f"(s) => {ROOT}.shadowRoot.querySelector(s).click()", selector)

    def accept(self) -> None:
        self._click("[data-tactful-action=accept]")

    def dismiss(self) -> None:
        self._click("[data-tactful-action=dismiss]")

    def submit_lead(self, email: str, consent: bool = True) -> None:
        form = f"{ROOT}.shadowRoot.querySelector('form[data-tactful-form=lead]')"
        poll(self.page, f"() => !!{form}")
        self.page.evaluate(f"""([email, consent]) => {{ const f = {form};
            f.querySelector('input[type=email]').value = email;
            const box = f.querySelector('input[name=consent]'); if (box) box.checked = consent;
            f.requestSubmit(); }}""", [email, consent])  # fmt: skip


class Visit:
    """One visitor on one page (``visit()`` opens it)."""

    def __init__(self, context, page, arm: str):
        self.context = context
        self.page = page
        self.arm = arm
        self._checked = 0  # decisions an expect_* call has already judged (on this page)

    @property
    def ready(self) -> dict:
        return wait_ready(self.page)

    def goto(self, url: str) -> Visit:
        """The same visitor, on another page (the clock stays frozen)."""
        self.page.goto(url)
        self._checked = 0
        state = wait_ready(self.page)
        if not state.get("enabled"):
            raise AssertionError(f"Tactful did not start on {url}: {state}")
        return self

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of the visitor's time pass (no real waiting), then let the engine catch up."""
        self.context.clock.fast_forward(int(seconds * SECOND))
        settled(self.page)

    def be_active(self, seconds: int) -> None:
        """Move the pointer once a second for ``seconds``: a person reading and looking around."""
        for i in range(seconds):
            self.page.mouse.move(300 + (i % 2) * 40, 300 + (i % 3) * 20)
            self.context.clock.fast_forward(SECOND)
        settled(self.page)

    def leave(self) -> None:
        """The pointer out through the top of the window: leaving, on a desktop."""
        leave_through_top(self.page)
        settled(self.page)

    def decisions(self, trigger: str | None = None) -> list[dict]:
        """This page's decisions (``tactful.explain()`` lists earlier pages' too, marked ``earlier``),
        for one trigger or all."""
        found = self.page.evaluate("() => tactful.explain()")
        return [d for d in found if not d.get("earlier") and (trigger is None or d["trigger"] == trigger)]

    def _new(self, trigger: str | None) -> list[dict]:
        """Decisions (for ``trigger``) since the last expect_* call judged them."""
        return [d for d in self.decisions()[self._checked :] if trigger is None or d["trigger"] == trigger]

    def expect_intervention(self, trigger: str, within: float = 30.0) -> Card:
        """Let up to ``within`` seconds pass until ``trigger`` intervenes; its card."""
        for _ in range(int(within) + 1):
            shown = [d for d in self._new(trigger) if d["action"] == "intervene"]
            if shown:
                self._checked = len(self.decisions())
                return card(self.page)
            self.advance(1)
        decided = self.decisions(trigger)
        raise AssertionError(f"{trigger} did not intervene within {within:g} s"
                             + (f"; it was suppressed: {decided[-1]['reasons']}" if decided else "; it never fired"))  # fmt: skip

    def expect_no_intervention(self, trigger: str | None = None, within: float = 0.0) -> list[str]:
        """After ``within`` more seconds: nothing shown (for ``trigger``, or at all) since the last
        expect_* call, and no card on the page. Returns the reason codes of the last suppression of
        ``trigger`` in that time (``[]`` when it did not fire)."""
        if within:
            self.advance(within)
        else:
            settled(self.page)
        decided = self._new(trigger)
        self._checked = len(self.decisions())
        shown = [d for d in decided if d["action"] == "intervene"]
        if shown:
            raise AssertionError(f"{shown[-1]['trigger']} intervened: {shown[-1]['reasons']}")
        if self.page.evaluate(f"() => !!{SECTION}"):
            raise AssertionError("a card is on the page")
        return list(decided[-1]["reasons"]) if decided else []

    def close(self) -> None:
        self.context.close()


def visit(browser, url: str, arm: str = "treatment", **context_options) -> Visit:
    """Open ``url`` in a new browser context as an ordinary visitor in ``arm``, with a frozen clock.

    Needs a test build of the bundle on that page (``tactful build --test``); a production bundle
    ignores the hooks, and the visit fails with the reason ``tactful.ready`` gives."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {', '.join(ARMS)}")
    context = browser.new_context(**context_options)
    context.add_init_script(f"window.__tactfulTest = {{ arm: {arm!r}, automation: true }};")
    context.clock.install()
    page = context.new_page()
    page.goto(url)
    state = wait_ready(page)
    if not state.get("enabled") or state.get("bot") or state.get("arm") != arm:
        context.close()
        raise AssertionError(f"not an ordinary {arm} visitor on {url} (is the bundle a test build? "
                             f"`tactful build --test`): tactful.ready = {state}")  # fmt: skip
    freeze(page, context)
    return Visit(context, page, arm)
