"""A typo in a setting stops start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from consentry.env import Env

ROOT = Path(__file__).resolve().parents[2]


def _start(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    base.update({"SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "consentry.settings"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACKING_MODE", "consnet"),
        ("HONOR_GPC", "ture"),
        ("DNC_REVOKES_TRACKING", "maybe"),
        ("IP_MASK_V4_BYTES", "5"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRACKED_SITES", "example.com"),
        ("COOKIE_SAMESITE", "relaxed"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_a_typo_stops_start_up_naming_the_variable(name, value):
    result = _start(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_without_a_secret_key_and_debug_off_it_refuses_to_start():
    result = _start(SECRET_KEY="", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_good_values_start():
    result = _start(TRACKING_MODE="Always", HONOR_GPC="false", TRACKED_SITES="https://a.example")
    assert result.returncode == 0, result.stderr


def test_privacy_settings_default_to_the_private_choice():
    env = Env({})
    assert (
        env.choice("TRACKING_MODE", "consent", ("off", "anonymous", "consent", "always"))
        == "consent"
    )
    from django.conf import settings

    assert settings.DNC_REVOKES_TRACKING is True
    assert settings.HONOR_GPC is True
    assert settings.HONOR_DNT is True
    assert settings.IP_MASK_V4_BYTES == 2
    assert settings.IP_MASK_V6_BITS == 80


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    assert Env({"SECRET_KEY_FILE": str(secret)}).text("SECRET_KEY") == "s" * 40
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE"):
        Env({"SECRET_KEY_FILE": str(tmp_path / "missing")}).text("SECRET_KEY")


def test_origins_are_normalised_and_paths_refused():
    assert Env({"S": "https://Shop.Example.com:8443"}).origins("S") == [
        "https://shop.example.com:8443"
    ]
    with pytest.raises(ImproperlyConfigured, match="without a path"):
        Env({"S": "https://example.com/blog"}).origins("S")
