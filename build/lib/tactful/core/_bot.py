"""Bot scoring from what the page can see and from how the visit behaves.

The score only ever *suppresses*: a human wrongly scored as a bot loses one
greeting, never a sale, so the threshold leans towards letting humans through.

Evidence and weights (a score >= the playbook's ``bot.threshold``, 1.0 by
default, means bot):

==========================  ======  ==========================================
evidence                    weight  why
==========================  ======  ==========================================
``webdriver`` is true       1.0     set by automation frameworks
automation user agent       1.0     HeadlessChrome, bot, crawler, spider, ...
empty user agent            1.0     no real browser sends one
no human input this visit   1.0     no pointer, key, touch or focus at all
machine behaviour           1.0     scripted scrolling, or a cadence no hand produces
``headless`` hint           0.6     the loader's headless checks fired
``languages`` empty         0.4     real browsers list at least one
==========================  ======  ==========================================

Keyboard-only and screen-reader visitors produce key and focus input, so they
are not "without human input". The loader reports only trusted input (events a
script dispatches itself are ignored), so a script cannot fake it cheaply.

**Machine behaviour** is scripted scrolling — eight or more scroll events in a visit with no
wheel, touch, key or pointer input before them (browsers deliver scroll events once per
frame, so a script's scroll train and a person's fling look alike by timing; what differs is
the hand) — or an input cadence no hand produces. The cadence check looks at the scroll and
hover instants of a visit: a train of
``MACHINE_TRAIN`` events each less than ``MACHINE_GAP`` apart (a scripted loop;
the loader emits a scroll only when the depth grows by 2 % or after a second, so
even a fast fling rarely yields such a train), or ``REGULAR_TRAIN`` gaps with a
coefficient of variation under ``REGULAR_CV`` (a timer; hands jitter by far more).
"""

from __future__ import annotations

import math
import re
from typing import Any

AUTOMATION_UA = re.compile(
    r"headless|bot\b|bot/|crawl|spider|slurp|phantomjs|puppeteer|playwright|selenium|"
    r"lighthouse|python-requests|python-urllib|curl/|wget/|httpclient|go-http-client|scrapy",
    re.IGNORECASE,
)
MACHINE_GAP = 0.012  # seconds: under one frame of a 60 Hz screen
MACHINE_TRAIN = 8  # consecutive gaps that short
REGULAR_TRAIN = 12  # consecutive gaps considered for regularity
REGULAR_CV = 0.01  # standard deviation / mean of those gaps
REGULAR_MAX_MEAN = 3.0  # seconds: slower trains are not checked


def machine_cadence(instants: list[float]) -> bool:
    """Do the latest input instants (oldest first) form a train no human produces?"""
    gaps = [b - a for a, b in zip(instants, instants[1:], strict=False)]
    fast = gaps[-MACHINE_TRAIN:]
    if len(fast) == MACHINE_TRAIN and all(0 <= gap < MACHINE_GAP for gap in fast):
        return True
    steady = gaps[-REGULAR_TRAIN:]
    if len(steady) < REGULAR_TRAIN:
        return False
    # (By hand: the statistics module would pull `random` into the browser's engine.)
    mean = sum(steady) / len(steady)
    spread = math.sqrt(sum((gap - mean) ** 2 for gap in steady) / len(steady))
    return 0 < mean <= REGULAR_MAX_MEAN and spread / mean < REGULAR_CV


def bot_score(client: dict[str, Any], interactions: int, machine: bool = False) -> float:
    """Sum the weights of the evidence present in the session's client facts and behaviour."""
    score = 0.0
    if client.get("webdriver") is True:
        score += 1.0
    ua = client.get("user_agent")
    if isinstance(ua, str):
        if not ua.strip():
            score += 1.0
        elif AUTOMATION_UA.search(ua):
            score += 1.0
    if client.get("headless") is True:
        score += 0.6
    if client.get("languages") == []:
        score += 0.4
    if interactions == 0:
        score += 1.0
    if machine:
        score += 1.0
    return score
