"""The client address is believed from X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import RequestFactory, override_settings

from consent.ip import client_ip, mask_ip

TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


def _ip(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return str(client_ip(RequestFactory().get("/", **extra)))


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored():
    with override_settings(TRUSTED_PROXIES=TRUSTED):
        assert _ip("198.51.100.7", "203.0.113.9") == "198.51.100.7"
    with override_settings(TRUSTED_PROXIES=[]):
        assert _ip("10.0.0.1", "203.0.113.9") == "10.0.0.1"


def test_through_trusted_proxies_the_rightmost_untrusted_hop_is_the_client():
    with override_settings(TRUSTED_PROXIES=TRUSTED):
        # The visitor forged the first entry; the proxies appended the rest.
        assert _ip("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.5") == "203.0.113.9"
        assert _ip("10.0.0.2", "[2001:db8::1]:443") == "2001:db8::1"


def test_garbage_in_x_forwarded_for_does_not_become_the_client():
    with override_settings(TRUSTED_PROXIES=TRUSTED):
        assert _ip("10.0.0.2", "not-an-ip, 203.0.113.9") == "203.0.113.9"
        assert _ip("10.0.0.2", "<script>") == "10.0.0.2"


@pytest.mark.parametrize(
    ("address", "v4_bytes", "v6_bits", "masked"),
    [
        ("192.0.2.77", 2, 80, "192.0.0.0"),
        ("192.0.2.77", 1, 80, "192.0.2.0"),
        ("2001:db8:1234:5678:9abc::1", 2, 80, "2001:db8:1234::"),
        ("::ffff:192.0.2.77", 2, 80, "192.0.0.0"),
    ],
)
def test_addresses_are_masked_before_anything_is_stored(address, v4_bytes, v6_bits, masked):
    request = RequestFactory().get("/", REMOTE_ADDR=address)
    with override_settings(IP_MASK_V4_BYTES=v4_bytes, IP_MASK_V6_BITS=v6_bits):
        assert mask_ip(client_ip(request)) == masked
