"""tactful.proxy: the backend that writes words, stores leads and outcomes. CPython only.

Above ``tactful.core``, beside the bundle builder and the lift tools, independent of
both. Start it with ``tactful serve --config tactful.toml`` or build the ASGI app
yourself::

    from tactful.proxy import create_app, load_config
    app = create_app(load_config("tactful.toml"))

The message path alone (cache, spend cap, model, guard, template) is ``create_words``;
``price_requests`` answers a list of message requests through it with a stand-in model.
``open_store(config)`` gives the configured store (SQLite, or PostgreSQL with ``database_url``);
its methods are coroutines, and ``await store.start()`` comes first. ``Outbox(store, metrics, config)``
delivers the stored leads (``deliver_due()`` is one pass; ``start()`` runs passes in the background).
"""

from ._app import Proxy, create_app
from ._config import ConfigError, ProxyConfig, load_config
from ._errors import (
    BadRequest,
    Forbidden,
    ProxyError,
    RateLimited,
    TooLarge,
    Unsupported,
    WriterError,
)
from ._guard import DEFAULT_CLAIMS
from ._guard import Policy as OutputPolicy
from ._guard import check as check_output
from ._guard import clean as clean_output
from ._http import serve, server_config, worker_config
from ._metrics import Metrics
from ._outbox import Outbox, ascii_address
from ._outbox import sign as sign_webhook
from ._shared import SharedState, open_state
from ._store import BackendDown, Store, open_store, spend_day
from ._words import SYSTEM as SYSTEM_PROMPT
from ._words import Words, create_words, price_requests
from ._writers import AnthropicWriter, OpenAIWriter, StandInWriter, TemplateWriter, Writer, Written

__all__ = [
    "DEFAULT_CLAIMS",
    "OutputPolicy",
    "SYSTEM_PROMPT",
    "AnthropicWriter",
    "BackendDown",
    "BadRequest",
    "ConfigError",
    "Forbidden",
    "Metrics",
    "OpenAIWriter",
    "Outbox",
    "Proxy",
    "ProxyConfig",
    "ProxyError",
    "RateLimited",
    "SharedState",
    "StandInWriter",
    "Store",
    "TemplateWriter",
    "TooLarge",
    "Unsupported",
    "Words",
    "Writer",
    "WriterError",
    "Written",
    "ascii_address",
    "check_output",
    "worker_config",
    "clean_output",
    "create_app",
    "create_words",
    "load_config",
    "open_state",
    "open_store",
    "price_requests",
    "serve",
    "server_config",
    "sign_webhook",
    "spend_day",
]
