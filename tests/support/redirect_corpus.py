"""Browser-parsing tricks, shared by the unit tests (tests/forms/test_redirects.py) and the check
in Chromium (tests/forms/test_browser_redirects.py).

`OWN` stands for the allowed host (with its port, if any) of an http origin: `shop.example` in
the unit tests, the host site's `localhost:PORT` in Chromium.
"""

from __future__ import annotations

OWN = "{own}"

# (stored redirect URL, what the browser is sent to; None: refused).
REDIRECTS: list[tuple[str, str | None]] = [
    # Accepted, and handed over as the browser itself would serialise them.
    ("http://{own}/thanks", "http://{own}/thanks"),
    ("HTTP://{own}/a/./b/../c", "http://{own}/a/c"),
    ("  http://{own}/x  ", "http://{own}/x"),
    ("\x01\x1f\x00 http://{own}/x\x7f", "http://{own}/x%7F"),  # DEL is not trimmed
    ("\x01\x1f http://{own}/x\x00", "http://{own}/x"),
    ("ht\ttp://{own}/x", "http://{own}/x"),
    ("http://{own}/x\r\ny", "http://{own}/xy"),
    ("http:\\\\{own}\\x\\y", "http://{own}/x/y"),
    ("http:{own}/x", "http://{own}/x"),
    ("http:/{own}/x", "http://{own}/x"),
    ("http:///{own}/x", "http://{own}/x"),
    ("http:/\\/\\{own}/x", "http://{own}/x"),
    (
        'http://{own}/a b"<>`{}^|\u00e9?q= "\'<>`{}^|\u00e9#f "\'<>`{}^|\u00e9',
        "http://{own}/a%20b%22%3C%3E%60%7B%7D%5E%7C%C3%A9"
        "?q=%20%22%27%3C%3E`{}^|%C3%A9#f%20%22'%3C%3E%60{}^|%C3%A9",
    ),
    ("http://{own}/%2e%2E/x/%2e/y/.%2e/z", "http://{own}/x/z"),
    ("http://{own}/a/%2e", "http://{own}/a/"),
    ("http://{own}/a/..", "http://{own}/"),
    ("http://{own}/../../x", "http://{own}/x"),
    ("http://{own}/%zz%41", "http://{own}/%zz%41"),
    ("http://{own}?q", "http://{own}/?q"),
    ("http://{own}#f", "http://{own}/#f"),
    ("http://{own}/x?a\\b#c\\d", "http://{own}/x?a\\b#c\\d"),
    ("http://{own}/@evil.example", "http://{own}/@evil.example"),
    # The reported one: a browser reads the backslash as a slash, so the host is evil.example.
    ("http://evil.example\\@{own}/", None),
    ("http://evil.example\\\\@{own}/", None),
    ("http://evil.example/\\@{own}/", None),
    ("http:\\\\evil.example\\{own}", None),
    ("http:evil.example/{own}", None),
    ("http:/evil.example/{own}", None),
    ("http:\\/evil.example", None),
    # User-info, wherever the allowed host hides in it.
    ("http://{own}@evil.example/", None),
    ("http://{own}:x@evil.example/", None),
    ("http://evil.example;@{own}/", None),
    ("http://user:pass@{own}/", None),
    ("http://@{own}/", None),
    ("http://evil.example#@{own}/", None),
    ("http://evil.example?@{own}/", None),
    # Tabs and newlines anywhere, in the scheme and the host.
    ("http://ev\til.example/", None),
    ("ht\ntp://evil.example/", None),
    ("http://evil\n.example/", None),
    ("http://evil.exam\r\nple/{own}", None),
    # Scheme-relative and path-relative: the page's base would decide.
    ("//evil.example/", None),
    ("///evil.example/", None),
    ("/\\evil.example/", None),
    ("\\\\evil.example/", None),
    ("\\/evil.example/", None),
    ("/\t/evil.example/", None),
    (" //evil.example/", None),
    ("//{own}/x", None),
    ("/x", None),
    ("x", None),
    ("", None),
    # Not http(s).
    ("javascript:alert(document.domain)", None),
    ("JAVASCRIPT:alert(1)", None),
    ("java\tscript:alert(1)", None),
    (" javascript:alert(1)", None),
    ("\x00javascript:alert(1)", None),
    ("javascript://{own}/%0aalert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("vbscript:msgbox(1)", None),
    ("file:///etc/passwd", None),
    ("ftp://evil.example/", None),
    ("blob:http://{own}/x", None),
    # Host spellings a browser rewrites.
    ("http://\uff45\uff56\uff49\uff4c\uff0eexample/", None),
    ("http://evil\u3002example/", None),
    ("http://evil\uff61example/", None),
    ("http://EVIL.example/", None),
    ("http://evil%2eexample/", None),
    ("http://%65vil.example/", None),
    ("http://evil.example%2f{own}/", None),
    ("http://evil.example./", None),
    ("http://evil.exam\u00adple/", None),
    ("http://b\u00fccher.example/", None),
    ("http://fa\u00df.example/", None),
    ("http://evil.example\uff0f.{own}/", None),
    ("http://0x7f.1/", None),
    ("http://2130706433/", None),
    ("http://0177.0.0.1/", None),
    ("http://127.1/", None),
    ("http://0x/", None),
    ("http://[::1]/", None),
    ("http://[::ffff:127.0.0.1]/", None),
    # Ports and schemes: another origin of the same host is another origin.
    ("https://{own}/", None),
    ("http://evil.example:80/", None),
    ("http://evil.example:0080/", None),
]

# How a URL is read, whatever its origin (url_read): the browser's href, or None when
# refused. Accepted ones are checked against Chromium's own reading.
READINGS: list[tuple[str, str | None]] = [
    ("http://evil.example\\@shop.example/", "http://evil.example/@shop.example/"),
    ("http:evil.example", "http://evil.example/"),
    ("http:\\\\evil.example/", "http://evil.example/"),
    ("HTTPS://Shop.Example:443/", "https://shop.example/"),
    ("https://shop.example:0443/x", "https://shop.example/x"),
    ("http://shop.example:/x", "http://shop.example/x"),
    ("http://shop.example:8080/x", "http://shop.example:8080/x"),
    ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
    ("https://B\u00dcCHER.example/", "https://xn--bcher-kva.example/"),
    ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
    ("https://\uff45\uff56\uff49\uff4c\uff0eexample/", "https://evil.example/"),
    ("https://evil\u3002example/", "https://evil.example/"),
    ("https://evil.exam\u00adple/", "https://evil.example/"),
    ("https://shop_1.example/", "https://shop_1.example/"),
    ("http://evil.1e3/", "http://evil.1e3/"),
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/"),
    ("http://[::1]:8000/x", "http://[::1]:8000/x"),
    ("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
    ("http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
    ("http://[1:0:0:2:0:0:0:3]/", "http://[1:0:0:2::3]/"),
    ("http://[1:0:2:3:4:5:6:7]/", "http://[1:0:2:3:4:5:6:7]/"),
    # Refused although a browser reads them: what they show is not where they go.
    ("https://user:pass@shop.example/", None),
    ("https://evil%2eexample/", None),
    ("https://shop.example./", None),
    ("http://0x7f.1/", None),
    ("http://2130706433/", None),
    ("http://0177.0.0.1/", None),
    ("http://127.1/", None),
    ("http://0x/", None),
    ("https://fa\u00df.example/", None),
    ("https://xn--abc.example/", None),
    ("https://a..b/", None),
    ("https://\u00ad shop.example/", None),
    # Refused by browsers too.
    ("https://[::1%25eth0]/", None),
    ("https://shop.example:65536/", None),
    ("https://shop.example:8a/", None),
    ("http://1.2.3.4.5/", None),
    ("http://evil.123/", None),
    ("http://1.2.3.09/", None),
    ("https://evil.example\uff0f.shop.example/", None),
    ("https://\u2100.example/", None),
    ("https://shop.example\x00/", None),
    ("https://shop.exa mple/", None),
    ("https://shop.exa<mple/", None),
    ("http://[::1/", None),
    ("http:///", None),
    ("http://\ud800.example/", None),
]


def fill(template: str, own: str) -> str:
    # Not str.format: the corpus is full of braces.
    return template.replace(OWN, own)
