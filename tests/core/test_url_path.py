"""url_path: the path page globs and scope patterns match, held to urllib.parse.urlsplit's answer.

The engine splits URLs itself so that the browser need not compile urllib.parse (and ipaddress)
at start-up; urlsplit is the independent oracle here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tactful.core import url_path

SCHEMES = st.sampled_from(["", "https:", "HTTP:", "a+b-c.d:", "1x:", "mailto:", "x y:", ":", "é:"])
HOSTS = st.sampled_from(["", "//", "//shop.example", "//user:pw@shop.example:8443", "//[::1]", "///", "//a?b", "//SHOP.EXAMPLE"])
PIECES = st.lists(st.sampled_from(["/", "cart", "?", "#", ":", "%2F", "a", " ", "\t", "\n", "\r", "\x00", "//", "é"]),
                  max_size=12).map("".join)  # fmt: skip


def oracle(url: str) -> str | None:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return None  # urlsplit refuses it (a malformed host): url_path keeps the path after it


@settings(max_examples=400)
@given(st.sampled_from(["", " ", "\x01\x1f "]), SCHEMES, HOSTS, PIECES)
@example("", "https:", "//shop.example", "/cart?x=1#top")
@example("  ", "", "", "/pricing#plans?no")
@example("", "", "", "cart?x")
def test_the_path_is_the_one_urlsplit_finds(lead, scheme, host, rest):
    url = lead + scheme + host + rest
    expected = oracle(url)
    if expected is not None:
        assert url_path(url) == expected, url


@given(st.text(max_size=40))
def test_any_text_gets_the_same_path_as_urlsplit_gives(url):
    expected = oracle(url)
    if expected is not None:
        assert url_path(url) == expected


def test_paths_as_a_playbook_sees_them():
    assert url_path("https://shop.example/cart?step=2#pay") == "/cart"
    assert url_path("HTTPS://shop.example") == "/"
    assert url_path("HTTPS://SHOP.EXAMPLE/Cart") == "/Cart"  # a host in capitals is still the host
    assert url_path("/products/mug?colour=blue") == "/products/mug"
    assert url_path("") == "/"
    assert url_path("mailto:ada@example.com") == "ada@example.com"
    assert url_path("1http://x/y") == "1http://x/y"  # a scheme starts with a letter
    assert url_path("\t /ca\nrt\r") == "/cart"  # leading blanks dropped, tabs and newlines removed
    assert url_path("https://[::1/cart") == "/cart"  # urlsplit refuses the host; the path survives
