"""Bot scoring from what the page can see.

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
``headless`` hint           0.6     the loader's headless checks fired
``languages`` empty         0.4     real browsers list at least one
no human input this visit   0.5     no pointer, key or touch activity at all
==========================  ======  ==========================================
"""

from __future__ import annotations

import re
from typing import Any

AUTOMATION_UA = re.compile(
    r"headless|bot\b|bot/|crawl|spider|slurp|phantomjs|puppeteer|playwright|selenium|"
    r"lighthouse|python-requests|python-urllib|curl/|wget/|httpclient|go-http-client|scrapy",
    re.IGNORECASE,
)


def bot_score(client: dict[str, Any], interactions: int) -> float:
    """Sum the weights of the evidence present in the session's client facts."""
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
        score += 0.5
    return score
