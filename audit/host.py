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


# Consent banners, written here after each one's public contract (the audit depends on nothing
# under tests/). Google Consent Mode: gtag pushes its arguments onto window.dataLayer; the
# site declares `default` on every load, the banner pushes `update` when the visitor answers.
CONSENT_MODE = """<script>
window.dataLayer = window.dataLayer || [];
function gtag() { dataLayer.push(arguments); }
gtag('consent', 'default', {analytics_storage: 'denied', ad_storage: 'denied'});
window.auditChoose = function (granted) {
  gtag('consent', 'update', {analytics_storage: granted ? 'granted' : 'denied'});
};
</script>"""
# An IAB TCF v2.2 CMP as its __tcfapi contract says: addEventListener calls back at once with
# the current TCData and again on every change; `cmpuishown` while the visitor has not
# answered, `tcloaded` with an answer given earlier (here: ?stored=consented or ?stored=
# refused), `useractioncomplete` when the visitor acts. Consent to purposes 1 and 8 is the
# publisher's and the purposes'.
TCF_STUB = """<script>
(function () {
  var listeners = [], next = 1, search = location.search;
  var stored = search == '?stored=consented' ? true : search == '?stored=refused' ? false : null;
  function tcData(status, id) {
    var given = stored ? {1: true, 8: true} : {};
    return {
      tcString: stored === null ? '' : 'CPaudit', tcfPolicyVersion: 5, cmpId: 999,
      cmpVersion: 1, gdprApplies: true, eventStatus: status, cmpStatus: 'loaded',
      listenerId: id, isServiceSpecific: true, useNonStandardTexts: false,
      publisherCC: 'DE', purposeOneTreatment: false,
      purpose: {consents: given, legitimateInterests: {}},
      vendor: {consents: {}, legitimateInterests: {}},
      specialFeatureOptins: {},
      publisher: {consents: given, legitimateInterests: {},
                  customPurpose: {consents: {}, legitimateInterests: {}}, restrictions: {}}
    };
  }
  window.__tcfapi = function (command, version, callback, parameter) {
    if (typeof callback != 'function') return;
    if (command == 'ping') {
      callback({gdprApplies: true, cmpLoaded: true, cmpStatus: 'loaded',
                displayStatus: stored === null ? 'visible' : 'hidden', apiVersion: '2.2',
                cmpVersion: 1, cmpId: 999, gvlVersion: 1, tcfPolicyVersion: 5}, true);
    } else if (command == 'addEventListener') {
      var id = next++;
      listeners.push({id: id, callback: callback});
      callback(tcData(stored === null ? 'cmpuishown' : 'tcloaded', id), true);
    } else if (command == 'removeEventListener') {
      var before = listeners.length;
      listeners = listeners.filter(function (l) { return l.id !== parameter; });
      callback(listeners.length < before);
    } else {
      callback(null, false);
    }
  };
  window.auditListening = function () { return listeners.length > 0; };
  window.auditChoose = function (granted) {
    stored = granted;
    listeners.forEach(function (l) { l.callback(tcData('useractioncomplete', l.id), true); });
  };
})();
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
    # Consent banners: the site names its banner in one line and the script's bridge reads it.
    for path, banner, source in (
        ("/consent-mode", CONSENT_MODE, "gcm"),
        ("/tcf", TCF_STUB, "tcf"),
    ):
        commands = f"mt('consentSource', '{source}');\nmt('send', 'pageview');"
        page(path, "Welcome", head=banner + SNIPPET.format(tracker=tracker, commands=commands))
    # A banner's start-up "no choice yet", reported as a refusal (Klaro's callback(false)).
    page(
        "/banner-start",
        "Welcome",
        head=SNIPPET.format(
            tracker=tracker,
            commands="mt('consent', 'revoke', {source: 'klaro', explicit: false});\n"
            "mt('send', 'pageview');",
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
    # A plain HTML5 player for the video the operator configured by its address, and the
    # tracker's player script, which asks for the video's gate and reports its plays.
    page(
        "/video",
        "Our product",
        body=f'<video width="640" height="360" src="{fx.video}"></video>'
        f'<script src="{tracker}/video/gate.js" async></script>',
    )
