"""The host site: the customer's website that embeds the tracker, played by a small HTTP server
of the audit's own (or, against a deployment, answered by Chromium itself), with one page per
surface embedded the way site owners embed it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from audit.targets import Fixtures

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

LOOPBACK = ("localhost", "127.0.0.1")

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><h1>{title}</h1>{body}<p>The host page's own content.</p></body>
</html>
"""
BLANK = HOST_PAGE.format(title="Offer", head="", body="<p>A blank page.</p>")
# The classic Mautic embed snippet, as site owners paste it.
SNIPPET = """<script>
(function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
}})(window,document,'script','{tracker}/mtc.js','mt');
{commands}
</script>"""


class HostSite:
    """The customer's website: another origin of the same site as the tracker (same host,
    another port), served by a small HTTP server of the audit's own. Against a deployment,
    `public` names a site the deployment tracks: on loopback, the audit serves it on that very
    port; elsewhere Chromium answers that origin's pages itself, with the same HTML (such pages
    count as public to Chromium, whose local-network rules then refuse a tracker on loopback
    or a private network). Email links always lead to the local server's blank page."""

    def __init__(self, host: str, public: str | None = None) -> None:
        self.pages: dict[str, bytes] = {"/blank": BLANK.encode()}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(urlsplit(self.path).path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a quiet server: the report is the output

        wanted = urlsplit(public) if public else None
        loopback = wanted is not None and wanted.hostname in LOOPBACK
        port = (wanted.port or 80) if wanted is not None and loopback else 0
        bind = wanted.hostname if wanted is not None and loopback else host
        self.server = ThreadingHTTPServer((bind or host, port), Handler)
        self.server.daemon_threads = True
        self.local = f"http://{bind}:{self.server.server_address[1]}"
        self.origin = self.local if public is None or loopback else public.rstrip("/")
        self.routed = self.origin != self.local
        self.blank = f"{self.local}/blank"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    def serve(self, path: str, page: str) -> str:
        self.pages[path] = page.encode()
        return self.origin + path

    def attach(self, context: BrowserContext) -> None:
        if not self.routed:
            return
        pages = self.pages

        def answer(route: Any) -> None:
            body = pages.get(urlsplit(route.request.url).path)
            if body is None:
                route.fulfill(status=404, body="")
            else:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

        context.route(f"{self.origin}/**", answer)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def publish_pages(site: HostSite, tracker: str, fx: Fixtures) -> None:
    """The host site's pages, each embedding one surface the way site owners do."""

    def page(path: str, title: str, *, head: str = "", body: str = "") -> None:
        site.serve(path, HOST_PAGE.format(title=title, head=head, body=body))

    page(
        "/script",
        "Pricing",
        head=SNIPPET.format(tracker=tracker, commands="mt('send', 'pageview');"),
    )
    page(
        "/script-grant",
        "Welcome",
        head=SNIPPET.format(
            tracker=tracker, commands="mt('consent', 'grant');\nmt('send', 'pageview');"
        ),
    )
    pixel = f"{tracker}/mtracking.gif?page_url={quote(site.origin + '/pixel', safe='')}"
    page("/pixel", "No script", body=f'<img src="{pixel}" width="1" height="1" alt="">')
    for path, form, kiosk in (
        ("/form-on", fx.form_on, False),
        ("/form-off", fx.form_off, False),
        ("/form-kiosk", fx.form_on, True),
    ):
        query = f"id={form}" + ("&kiosk=1" if kiosk else "")
        page(path, "Contact", body=f'<script src="{tracker}/form/generate.js?{query}"></script>')
    page("/focus", "Sale", body=f'<script src="{tracker}/focus/{fx.focus}.js" async></script>')
    page(
        "/asset",
        "Downloads",
        body=f'<p><a id="download" href="{tracker}/asset/{fx.asset}">The brochure</a></p>',
    )
