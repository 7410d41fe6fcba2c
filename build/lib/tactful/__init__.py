"""Tactful: a proactive-chat decision engine.

``tactful.core`` is the pure, deterministic engine that also runs in the browser;
``tactful.proxy`` is the backend that writes messages. See README.md.
"""

__version__ = "0.1.0"
