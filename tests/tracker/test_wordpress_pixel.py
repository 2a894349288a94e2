"""The WordPress plugin's pixel: /mtracking.gif?d=<base64 of a PHP-serialized array> records
the page WordPress describes, and a hostile d is a 400 GIF, never a 500 nor a hit."""

from __future__ import annotations

import base64
import pickle
from urllib.parse import quote

import pytest
from django.test import override_settings

from tests.support.tracking import CHROME, live
from tracker.models import AnonymousHit

pytestmark = [pytest.mark.django_db]

# WP Mautic, includes/classes/Frontend/Enqueue.php (wpmautic_inject_tracking_pixel), verbatim:
#   $payload   = rawurlencode( base64_encode( serialize( $url_query ) ) );
#   <img src="<?php echo esc_url( $base_url ); ?>/mtracking.gif?d=<?php echo esc_attr( $payload );
#   ?>" style="display:none;" alt="<?php echo esc_attr__( 'Mautic Tags', 'wp-mautic' ); ?>" />
# and what PHP's serialize() writes for the array wpmautic_get_url_query() builds on a post
# (its title holds WordPress's &#8211; and a multi-byte character: lengths count bytes).
SERIALIZED = (
    'a:4:{s:8:"language";s:5:"fr_FR";'
    's:8:"page_url";s:46:"http://testserver/2024/05/hello-world/?lang=fr";'
    's:10:"page_title";s:36:"Hello world &#8211; Café de la Gare";'
    's:8:"referrer";s:26:"https://search.example/?q=";}'
).encode()


def _pixel_url(serialized: bytes) -> str:
    # PHP's rawurlencode: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded.
    return "/mtracking.gif?d=" + quote(base64.b64encode(serialized).decode(), safe="-_.~")


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def test_the_serialized_fixture_is_what_php_writes():
    # s:N counts bytes: "é" is two.
    assert len("Hello world &#8211; Café de la Gare".encode()) == 36


def test_the_plugins_pixel_records_the_real_path_title_language_and_referrer(client):
    response = client.get(_pixel_url(SERIALIZED), headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert live(response) == {}
    hit = AnonymousHit.objects.get()
    assert hit.path == "/2024/05/hello-world/"
    assert hit.title == "Hello world &#8211; Café de la Gare"


def test_the_plugins_pixel_on_wordpress_before_4_5_sends_a_null_referrer(client):
    serialized = (
        b'a:3:{s:8:"page_url";s:23:"http://testserver/about";'
        b's:10:"page_title";s:5:"About";s:8:"referrer";N;}'
    )
    response = client.get(_pixel_url(serialized), headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert AnonymousHit.objects.get().path == "/about"


def test_d_replaces_the_rest_of_the_query_as_in_mautic(client):
    url = _pixel_url(SERIALIZED) + "&page_url=http://testserver/elsewhere"
    client.get(url, headers={"User-Agent": CHROME})
    assert AnonymousHit.objects.get().path == "/2024/05/hello-world/"


@pytest.mark.parametrize(
    ("d", "code"),
    [
        ("not base64!", "invalid_d"),
        (base64.b64encode(b'O:8:"stdClass":0:{}').decode(), "invalid_d"),
        (base64.b64encode(b'a:1:{s:1:"x";O:8:"stdClass":0:{}}').decode(), "invalid_d"),
        # Python's pickle of a dict: nothing here ever unpickles it.
        (base64.b64encode(pickle.dumps({"page_url": "x"})).decode(), "invalid_d"),
        (base64.b64encode(b"a:1:{i:0;" * 50 + b"}" * 50).decode(), "invalid_d"),
        (base64.b64encode(b'a:1:{s:5:"x";i:1;}').decode(), "invalid_d"),
        (base64.b64encode(b"\xff" * 64).decode(), "invalid_d"),
        ("", "invalid_d"),
    ],
)
def test_a_hostile_d_is_a_400_gif_that_names_the_problem_and_counts_nothing(client, d, code):
    response = client.get(
        "/mtracking.gif?d=" + quote(d, safe=""),
        headers={"User-Agent": CHROME, "Referer": "http://testserver/page"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "image/gif"
    assert response["X-Consentry-Error"].startswith(code)
    assert live(response) == {}
    assert not AnonymousHit.objects.exists()


@pytest.mark.parametrize(
    ("serialized", "field"),
    [
        (b'a:1:{s:10:"page_title";s:3:"a\x00b";}', "d.page_title"),
        (b'a:1:{s:8:"page_url";s:2:"\x1b[";}', "d.page_url"),
        (b'a:1:{s:3:"x\x01y";s:1:"v";}', "d.x%01y"),
        (b'a:1:{s:5:"inner";a:1:{i:0;s:1:"\x7f";}}', "d.inner.0"),
    ],
)
def test_control_characters_decoded_from_d_are_refused_naming_the_field(client, serialized, field):
    response = client.get(_pixel_url(serialized), headers={"User-Agent": CHROME})
    assert response.status_code == 400
    assert response["Content-Type"] == "image/gif"
    error = response["X-Consentry-Error"]
    assert error.startswith("invalid_text"), error
    assert field in error, error
    assert not AnonymousHit.objects.exists()
