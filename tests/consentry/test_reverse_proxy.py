"""The tracker on another domain, behind the site's own reverse proxy.

When the tracker cannot be a subdomain of the site (t.site.com), its cookies are third-party:
a visitor's grant is answered, but the browser refuses the device cookie from a cross-site
response, and the next page view is anonymous again. The remedy is a first-party path on the
site itself, such as https://www.site.com/t/ -> the tracker, served by the site's reverse
proxy. This runs Debian's nginx as that proxy (on a free loopback port, from a generated
configuration in a temporary folder) and Chromium as the visitor, with the site's and the
tracker's names mapped to 127.0.0.1 by Chromium itself. Nothing is mocked.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser

from audit.browser import CHROMIUM, CHROMIUM_ARGS, playwright_import
from contacts.models import Device
from tests.conftest import _missing
from tests.support.browser import (
    CONSENT,
    DEVICE,
    HostSite,
    Person,
    browsing,
    eventually,
    host_page,
    live_tracker,
    tracking_snippet,
)
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]

SITE_HOST = "www.site.test"
TRACKER_HOST = "tracker.test"  # another registrable domain: not a subdomain of the site
NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name {site_host};
        # The tracker, first-party on the site's own host.
        location /t/ {{
            proxy_pass http://{tracker}/;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
        # The site's own pages.
        location / {{
            proxy_pass http://{site};
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if found is None:
        _missing("this test needs nginx (apt-get install nginx-light)")
        raise AssertionError  # unreachable: _missing raises
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


@dataclass
class Proxy:
    origin: str  # the site's origin, e.g. http://www.site.test:P
    tracker: str  # the tracker's first-party base, origin + "/t"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Chromium that finds the site's and the tracker's names on this machine."""
    if not CHROMIUM.exists():
        _missing("this test needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    rules = f"MAP {SITE_HOST} 127.0.0.1, MAP {TRACKER_HOST} 127.0.0.1"
    # Playwright's sync API keeps an event loop in this thread (see tests/support/browser.py).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with playwright_import()() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"],
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(live_server: Any, settings: Any) -> Iterator[HostSite]:
    """The site's own pages, served behind the proxy."""
    tracker = live_tracker(live_server, settings)
    server = HostSite("127.0.0.1", tracker)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def proxy(
    site: HostSite, live_server: Any, settings: Any, tmp_path: Path, monkeypatch: Any
) -> Iterator[Proxy]:
    nginx = _nginx()
    port = _free_port()
    tracker = urlsplit(live_server.url).netloc
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            tmp=tmp_path,
            port=port,
            site_host=SITE_HOST,
            tracker=tracker,
            site=urlsplit(site.origin).netloc,
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                error = (tmp_path / "error.log").read_text(errors="replace")
                raise AssertionError(f"nginx did not start: {error}")
            time.sleep(0.05)
        origin = f"http://{SITE_HOST}:{port}"
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, SITE_HOST, TRACKER_HOST]
        settings.TRACKED_SITES = [origin]
        # The proxy is on this machine: its X-Forwarded-For names the visitor.
        settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
        yield Proxy(origin=origin, tracker=f"{origin}/t")
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(kw_only=True)
class Visitor(Person):
    site: str

    def open(self, path: str) -> None:
        self.page.goto(self.site + path)
        self.page.wait_for_function("() => window.mt && window.mt.consentry === true")

    def mt(self, *args: str) -> dict[str, Any]:
        reply = self.page.evaluate("(args) => window.mt(...args)", list(args))
        assert isinstance(reply, dict), f"mt{args} got no reply from the tracker"
        return reply


@contextmanager
def _visit(chromium: Browser, proxy: Proxy, site: HostSite, script_base: str) -> Iterator[Visitor]:
    """A person on the site's page, whose embed loads the tracker from `script_base`."""
    site.serve("/pricing", host_page("Pricing", head=tracking_snippet(script_base)))
    with browsing(Visitor.start(chromium, tracker=script_base, site=proxy.origin)) as person:
        yield person


def test_through_the_sites_own_proxy_a_grant_sticks_and_the_next_hit_is_identified(
    chromium, proxy, site, settings
):
    settings.PUBLIC_URL = proxy.tracker
    with _visit(chromium, proxy, site, proxy.tracker) as visitor:
        visitor.open("/pricing")
        assert visitor.mt("send", "pageview")["counted"] is True
        eventually(lambda: AnonymousHit.objects.count() == 1, "the pageview is counted")
        assert visitor.context.cookies() == []  # nothing before the grant

        assert visitor.mt("consent", "grant")["consent"] == "granted"
        cookies = visitor.cookies()
        assert set(cookies) == {CONSENT, DEVICE}
        # First-party: on the site's own host, where every page of the site sends it.
        assert cookies[DEVICE]["domain"] == SITE_HOST
        assert cookies[DEVICE]["path"] == "/"

        visitor.open("/pricing")  # a new page: the browser sends the cookie back
        reply = visitor.mt("send", "pageview")
        assert reply == {"consent": "granted", "counted": True, "reason": "granted"}
        eventually(lambda: PageHit.objects.count() == 1, "the next pageview is identified")
        hit = PageHit.objects.select_related("device").get()
        assert hit.device == Device.objects.get(public_id=visitor.device_id())
        assert hit.url == f"{proxy.origin}/pricing"


def test_a_tracker_on_another_domain_cannot_keep_a_grant(chromium, proxy, site, live_server):
    # The same site and pages, but the script loaded from the tracker's own domain.
    other = f"http://{TRACKER_HOST}:{urlsplit(live_server.url).port}"
    with _visit(chromium, proxy, site, other) as visitor:
        visitor.open("/pricing")
        # The tracker answers the grant...
        assert visitor.mt("consent", "grant")["consent"] == "granted"
        # ...but Chromium refuses a SameSite=Lax cookie from a cross-site response.
        assert visitor.cookies() == {}
        visitor.open("/pricing")
        reply = visitor.mt("send", "pageview")
        assert reply["consent"] == "none"
        eventually(lambda: AnonymousHit.objects.count() == 1, "the pageview is counted")
        assert PageHit.objects.count() == 0
