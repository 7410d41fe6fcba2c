"""The scope router: the agent answers pre-purchase questions only.

Returns, refunds, shipping status, order tracking and account help go to the
site's support link without a model call (the "everything chatbot" failure).
"""

from __future__ import annotations

import re

SUPPORT_TOPICS = {
    "returns": r"\b(return(s|ing|ed)?|refund(s|ed)?|exchange|send (it )?back|money back)\b",
    "shipping": r"\b(where is my|track(ing)?|shipment|shipping status|delivery status|not (yet )?arrived|lost (parcel|package)|dispatch(ed)?)\b",
    "orders": r"\b(my order|order (number|status|#)|cancel (my )?order|invoice|receipt)\b",
    "account": r"\b(account|password|log ?in|sign ?in|username|unsubscribe|delete my data|gdpr)\b",
}
_TOPICS = {name: re.compile(pattern, re.I) for name, pattern in SUPPORT_TOPICS.items()}


def support_topic(text: str) -> str | None:
    """The support topic a visitor's message is about, or None for a pre-purchase question."""
    for name, pattern in _TOPICS.items():
        if pattern.search(text):
            return name
    return None
