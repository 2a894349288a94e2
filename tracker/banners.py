"""/mtc-consent/{name}.js: the bridges from a site's own consent banner to the tracker.

The tracking script loads one only when the page names its banner (`mt('consentSource', name)`
or `data-consent-source`), so the core script does not grow with every banner it can read.
Each is a built file of clients/js (dist/consent/), served like /mtc.js.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from consentry.scripts import script_response
from tracker.views import DIST

BRIDGES = frozenset(
    {
        "auto",
        "gcm",
        "tcf",
        "gpp",
        "cookiebot",
        "onetrust",
        "usercentrics",
        "klaro",
        "cookieconsent",
    }
)


@require_safe
def bridge_script(request: HttpRequest, name: str) -> HttpResponse:
    """One banner's bridge; a banner without one is a 404 (the name never reaches the disk)."""
    if name not in BRIDGES:
        raise Http404("no bridge for this consent banner")
    return script_response(request, DIST / "consent" / f"{name}.js")
