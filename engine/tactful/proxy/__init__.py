"""tactful.proxy: the backend that writes words, stores leads and outcomes. CPython only.

Never imported by tactful.core. Start it with ``tactful serve --config tactful.toml``
or build the ASGI app yourself::

    from tactful.proxy import create_app, load_config
    app = create_app(load_config("tactful.toml"))
"""

from ._app import Proxy, create_app, serve
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
from ._guard import check as check_output
from ._outbox import sign as sign_webhook
from ._store import Store
from ._writers import AnthropicWriter, OpenAIWriter, TemplateWriter, Writer, Written

__all__ = [
    "AnthropicWriter",
    "BadRequest",
    "ConfigError",
    "Forbidden",
    "OpenAIWriter",
    "Proxy",
    "ProxyConfig",
    "ProxyError",
    "RateLimited",
    "Store",
    "TemplateWriter",
    "TooLarge",
    "Unsupported",
    "Writer",
    "WriterError",
    "Written",
    "check_output",
    "create_app",
    "load_config",
    "serve",
    "sign_webhook",
]
