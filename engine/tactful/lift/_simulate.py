"""``tactful simulate``: synthetic traffic through the real engine, so the report has data.

Everything it produces is labelled synthetic (``synthetic = 1`` in the outcomes table,
"SYNTHETIC" on every report). The behavioural model, stated so nobody mistakes it for
evidence:

=============  ======  =====================================================  ===============
persona        share   what they do (one to three visits, one to three days   base chance to
                       apart)                                                 buy in a visit
=============  ======  =====================================================  ===============
browser        35 %    home, a category, a product read for a while           2 %
buyer          12 %    product, add to cart, cart, checkout                   60 %
hesitator      20 %    product, add to cart, cart, dwell, heads for the tab   10 %
comparer       10 %    pricing read to the end, two tiers hovered, stillness  8 %
reader         10 %    the long article, read properly                        1 %
returner        5 %    adds to cart and leaves; comes back a day later        15 % (visit 2+)
bot             8 %    webdriver, no human input, walks the cart              0 %
=============  ======  =====================================================  ===============

When the engine intervenes, the visitor dismisses it (40 %), accepts it (30 %) or
ignores it; unless dismissed, the chance to buy rises by the trigger's assumed
uplift: cart_exit +6 points, welcome_back_cart +5, pricing_compare +4,
product_questions +2, longform_lead +0.5. Holdout visitors are eligible but never
shown anything, so they never get the uplift. A visit that buys sends ``convert``
to the engine, which then stays silent on every later visit.

``uplift`` overrides those assumptions to build an experiment: ``{"cart_exit:ship": 0.12}``
for one variant of a trigger, ``{"pricing_compare": -0.08}`` for a trigger that hurts. A
negative uplift (an annoyance) applies whether the card was dismissed or not.

Each shown intervention asks for words; ``tactful simulate`` prices those requests
through the proxy's real message path (cache and spend accounting) with a stand-in
model priced as claude-haiku-4-5, so the report's cost figures follow the same
arithmetic as live traffic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from tactful.core import MessageRequest, OutcomeBeacon, Playbook, Replay, message_request

PERSONAS = {  # name: (share, base conversion per visit)
    "browser": (0.35, 0.02),
    "buyer": (0.12, 0.60),
    "hesitator": (0.20, 0.10),
    "comparer": (0.10, 0.08),
    "reader": (0.10, 0.01),
    "returner": (0.05, 0.15),
    "bot": (0.08, 0.0),
}
UPLIFT = {
    "cart_exit": 0.06,
    "welcome_back_cart": 0.05,
    "pricing_compare": 0.04,
    "product_questions": 0.02,
    "longform_lead": 0.005,
}
DISMISS, ACCEPT = 0.40, 0.30
HUMAN_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
BOT_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36"


class Visit:
    """Builds one visit's event log with a moving clock."""

    def __init__(self, rng: random.Random, start: float, bot: bool):
        self.rng = rng
        self.t = start
        self.bot = bot
        self.events: list[dict] = [{"t": start, "type": "client", "user_agent": BOT_UA if bot else HUMAN_UA,
                                    "webdriver": bot, "languages": [] if bot else ["en-GB", "en"]}]  # fmt: skip

    def add(self, dt: float, **event) -> None:
        self.t += dt
        self.events.append({"t": self.t, **event})

    def page(self, url: str, kind: str, **extra) -> None:
        self.add(self.rng.uniform(1, 4), type="page_view", url=url, kind=kind, **extra)

    def active(self, seconds: float) -> None:
        """Human input about once a second (bots scroll but never move a pointer)."""
        end = self.t + seconds
        while self.t < end:
            if self.bot:
                self.add(self.rng.uniform(0.6, 1.6), type="scroll", depth=0.3)
            else:
                self.add(self.rng.uniform(0.6, 1.6), type="activity")

    def read(self, depth: float, seconds: float) -> None:
        steps = max(1, int(seconds // 4))
        for i in range(1, steps + 1):
            self.add(self.rng.uniform(2, 5), type="scroll", depth=round(depth * i / steps, 2))
            if not self.bot:
                self.add(self.rng.uniform(0.5, 1.5), type="activity")

    def still(self, seconds: float) -> None:
        self.add(seconds, type="tick")


def persona_visit(rng: random.Random, persona: str, start: float, number: int, cart: int) -> tuple[list[dict], int]:
    """The events of one visit; returns them and the cart size afterwards."""
    v = Visit(rng, start, persona == "bot")
    product = rng.choice(["trail-boots", "city-boots", "wool-socks", "enamel-mug", "pour-over", "coffee-beans"])
    if persona == "browser":
        v.page("/", "home")
        v.active(rng.uniform(3, 10))
        v.page("/c/boots.html", "category")
        v.active(rng.uniform(3, 10))
        v.page(f"/p/{product}.html", "product", product=product)
        v.read(rng.uniform(0.3, 1.0), rng.uniform(10, 60))
        v.still(rng.uniform(2, 20))
    elif persona in ("buyer", "hesitator", "bot") or (persona == "returner" and number == 1):
        v.page(f"/p/{product}.html", "product", product=product)
        v.active(rng.uniform(4, 12))
        cart += 1
        v.add(1, type="cart", items=cart, value=40.0 * cart)
        v.page("/cart.html", "cart")
        v.active(rng.uniform(3, 8))
        if persona == "hesitator" or persona == "bot":
            v.still(rng.uniform(5, 25))
            v.add(0.5, type="exit_intent")
            v.still(rng.uniform(5, 70))
        elif persona == "buyer":
            v.page("/checkout.html", "checkout")
            v.active(rng.uniform(5, 15))
    elif persona == "returner":
        v.page("/", "home")
        v.active(rng.uniform(4, 10))
        v.page("/cart.html", "cart")
        v.active(rng.uniform(3, 8))
    elif persona == "comparer":
        v.page("/pricing.html", "pricing")
        v.read(rng.uniform(0.7, 1.0), rng.uniform(15, 40))
        for tier in rng.sample(["tier:starter", "tier:pro", "tier:family"], 2):
            v.add(rng.uniform(1, 3), type="hover", target=tier)
        v.still(rng.uniform(2, 10))
    elif persona == "reader":
        v.page("/blog/care-guide.html", "article")
        v.read(rng.uniform(0.5, 1.0), rng.uniform(30, 120))
    return v.events, cart


def pick_persona(rng: random.Random) -> str:
    """A persona drawn by its share of traffic."""
    return rng.choices(list(PERSONAS), [share for share, _ in PERSONAS.values()])[0]


def random_visit(rng: random.Random, start: float) -> list[dict]:
    """The events of one first visit by a persona drawn by share: the visitor model the benchmarks use."""
    return persona_visit(rng, pick_persona(rng), start, 1, 0)[0]


@dataclass
class SimulationResult:
    visitors: int
    visits: int
    interventions: int
    shown_to_converted: int
    shown_to_bots: int
    outcomes: list[OutcomeBeacon]
    requests: list[tuple[float, MessageRequest]]  # words asked for, in time order
    model_calls: int = 0  # filled in by whoever prices the requests (see ``priced``)
    cost_usd: float = 0.0

    @property
    def message_requests(self) -> int:
        return len(self.requests)

    def priced(self, model_calls: int, cost_usd: float) -> SimulationResult:
        """This result with the model calls and cost of answering its requests."""
        return replace(self, model_calls=model_calls, cost_usd=cost_usd)


def effect(uplift: dict[str, float], decision, dismissed: bool) -> float:
    """The assumed change in the chance to buy after ``decision`` was shown (see the module docstring)."""
    change = uplift.get(f"{decision.trigger}:{decision.variant}", uplift.get(decision.trigger, 0.0))
    return change if change < 0 or not dismissed else 0.0


def simulate(playbook: Playbook, visitors: int, seed: int = 7, start: float = 1_800_000_000.0,
             days: float = 14.0, observer=None, uplift: dict[str, float] | None = None) -> SimulationResult:  # fmt: skip
    """Run ``visitors`` synthetic visitors through the engine; outcomes are labelled synthetic by the caller.

    ``observer(persona, events, converted_before)``, if given, sees every visit (for baselines).
    The words each shown intervention asks for are returned in ``requests``: price them
    with the proxy's real message path (``tactful.proxy.price_requests``).
    """
    rng = random.Random(seed)
    uplift = {**UPLIFT, **(uplift or {})}
    replay = Replay(playbook)
    requests: list[tuple[float, MessageRequest]] = []
    outcomes = []
    interventions = shown_converted = shown_bots = visits = 0
    for i in range(visitors):
        persona = pick_persona(rng)
        visitor = f"sim-{seed}-{i}"
        engine = replay.engine(visitor)
        t = start + rng.uniform(0, days * 86400)
        cart = 0
        count = rng.randint(2, 3) if persona == "returner" else rng.choice([1, 1, 1, 2, 3])
        for number in range(1, count + 1):
            events, cart = persona_visit(rng, persona, t, number, cart)
            visits += 1
            if observer is not None:
                observer(persona, events, engine.state.converted)
            shown = []
            for event in events:
                for decision in replay.feed(visitor, [event]):
                    if decision.intervene:
                        shown.append(decision)
                        shown_converted += 1 if engine.state.converted else 0
                        requests.append((decision.t, message_request(decision, playbook.privacy, "en-GB")))
            interventions += len(shown)
            shown_bots += len(shown) if persona == "bot" else 0
            p = PERSONAS[persona][1] if (persona != "returner" or number > 1) else 0.01
            end = events[-1]["t"]
            for decision in shown:
                roll = rng.random()
                if roll < DISMISS:
                    replay.feed(visitor, [{"t": end + 1, "type": "dismiss", "trigger": decision.trigger}])
                elif roll < DISMISS + ACCEPT:
                    replay.feed(visitor, [{"t": end + 1, "type": "accept", "trigger": decision.trigger}])
                p = max(0.0, p + effect(uplift, decision, roll < DISMISS))
            converted = not engine.state.converted and rng.random() < p
            if converted:
                value = round(rng.uniform(15, 180), 2)
                replay.feed(visitor, [{"t": end + 2, "type": "convert", "value": value}])
                cart = 0
            beacon = engine.outcome()
            if beacon is not None:
                outcomes.append(beacon)
            t = end + rng.uniform(1, 3) * 86400
    requests.sort(key=lambda r: r[0])
    return SimulationResult(visitors, visits, interventions, shown_converted, shown_bots, outcomes, requests)


