from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from consent.middleware import is_public
from consentry import views
from tracker import banners
from tracker import views as tracker

urlpatterns: list[URLPattern | URLResolver] = [
    path("mtc.js", tracker.script, name="mtc-js"),
    path("mautic-essential.js", tracker.essential_script, name="mautic-essential-js"),
    path("mautic-tracking.js", tracker.script, name="mautic-tracking-js"),
    path("mtc/event", tracker.event, name="mtc-event"),
    path("mtracking.gif", tracker.pixel, name="mtc-pixel"),
    path("mtc-consent/<str:name>.js", banners.bridge_script, name="mtc-consent-js"),
    path("", include("emails.urls")),
    path("", include("forms.urls")),
    path("", include("focus.urls")),
    path("", include("pages.urls")),
    path("", include("dwc.urls")),
    path("", include("video.urls")),
    path("", include("consent.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("demo/", views.demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]

# Mautic installs without URL rewriting put /index.php/ in every link and embed they hand out:
# every public path answers there too, built from the list above so that a path added to it
# gets its twin. The operator's admin and API have none. The twins are reversed as
# "index_php:<name>"; reverse("<name>") still gives the canonical path.
urlpatterns.append(
    path(
        "index.php/",
        include(([p for p in urlpatterns if is_public("/" + str(p.pattern))], "index_php")),
    )
)
