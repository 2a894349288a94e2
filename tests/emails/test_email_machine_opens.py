"""Machine opens by source address: Apple's and Google's mail proxies are recognised by the
address they fetch from (read through trusted proxies only, before masking) as well as by
their user agent. The open is stored, flagged machine with the reason, never counted as human,
and the address itself is neither queued nor stored."""

from __future__ import annotations

import io
import ipaddress
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from emails.machines import APPLE_FILE, GOOGLE_FILE, ranges_reload
from emails.models import EmailOpen
from emails.selectors import email_stats
from tests.support.emailing import sent_to
from tracker.drain import events_drain

pytestmark = pytest.mark.django_db

# Apple Mail on macOS: a WebKit agent that names no browser.
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
GOOGLE_IMAGE_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
LOAD_BALANCER = "10.0.0.2"
ORDINARY = "203.0.113.9"


@pytest.fixture(autouse=True)
def behind_a_load_balancer():
    with override_settings(TRUSTED_PROXIES=[ipaddress.ip_network("10.0.0.0/8")]):
        ranges_reload()
        yield
    ranges_reload()


@pytest.fixture
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def _open(client, sent, *, address, user_agent=APPLE_MAIL, peer=LOAD_BALANCER):
    """The pixel fetched from `address`, as the load balancer forwards it."""
    return client.get(
        f"/email/{sent.recipient.token}.gif",
        headers={"User-Agent": user_agent, "X-Forwarded-For": address},
        REMOTE_ADDR=peer,
    )


@pytest.mark.usefixtures("embedded")
@pytest.mark.parametrize(
    "address",
    [
        "17.58.63.7",  # Apple's own block
        "172.225.12.34",  # Private Relay egress (Akamai)
        "146.75.160.9",  # Private Relay egress (Fastly)
        "2a04:4e41:1234::1",  # Private Relay egress over IPv6
    ],
)
def test_apple_mail_from_apples_ranges_is_a_machine_open_that_says_why(client, address):
    sent = sent_to("ada@example.com", consented=True)
    assert _open(client, sent, address=address).status_code == 200
    open_ = EmailOpen.objects.get()
    assert (open_.machine, open_.machine_source) == (True, "apple-relay")
    assert open_.recipient is None  # a proxy's fetch is never the recipient's open
    stats = email_stats(email=sent.email)
    assert (stats.human_opens, stats.machine_opens) == (0, 1)


@pytest.mark.usefixtures("embedded")
def test_gmails_image_proxy_is_a_machine_open_by_its_address(client):
    sent = sent_to("ada@example.com", consented=True)
    _open(client, sent, address="66.249.84.10", user_agent=GOOGLE_IMAGE_PROXY)
    open_ = EmailOpen.objects.get()
    assert (open_.machine, open_.machine_source) == (True, "google-proxy")
    assert email_stats(email=sent.email).human_opens == 0


@pytest.mark.usefixtures("embedded")
def test_the_same_agent_from_an_ordinary_address_is_a_person(client):
    sent = sent_to("ada@example.com", consented=True)
    _open(client, sent, address=ORDINARY)
    open_ = EmailOpen.objects.get()
    assert (open_.machine, open_.machine_source) == (False, "")
    assert open_.recipient == sent.recipient
    assert email_stats(email=sent.email).human_opens == 1


@pytest.mark.usefixtures("embedded")
def test_a_scanners_agent_is_a_machine_open_by_its_agent(client):
    sent = sent_to("ada@example.com", consented=True)
    _open(client, sent, address=ORDINARY, user_agent="Mozilla/5.0 (compatible; Barracuda)")
    assert EmailOpen.objects.get().machine_source == "agent"


@pytest.mark.usefixtures("embedded")
def test_an_address_is_believed_from_x_forwarded_for_only_through_a_trusted_proxy(client):
    sent = sent_to("ada@example.com", consented=True)
    # Anyone can write X-Forwarded-For: from an untrusted peer it names no one.
    _open(client, sent, address="17.58.63.7", peer="198.51.100.7")
    # A proxy fetching directly, with no load balancer in front, is still known.
    client.get(
        f"/email/{sent.recipient.token}.gif",
        headers={"User-Agent": APPLE_MAIL},
        REMOTE_ADDR="17.58.63.7",
    )
    assert sorted(EmailOpen.objects.values_list("machine_source", flat=True)) == [
        "",
        "apple-relay",
    ]


def test_the_address_is_neither_queued_nor_stored(client, redis_client):
    sent = sent_to("ada@example.com", consented=True)
    _open(client, sent, address="17.58.63.7")
    [(_, fields)] = redis_client.xrange(EVENT_STREAM)
    payload = b"".join(fields.values())
    assert b"17.58" not in payload
    assert json.loads(payload)["s"] == "apple-relay"
    assert events_drain() == 1
    row = EmailOpen.objects.values().get()
    assert row["machine_source"] == "apple-relay"
    assert not any("17.58" in str(value) for value in row.values())


APPLE_CSV = """\
172.224.226.0/27,GB,GB-EN,London,
172.224.226.32/27,GB,GB-EN,London,
2a02:26f7:b3c0:4000::/64,US,US-CA,Los Angeles,
198.51.100.0/24,US,US-NY,New York,
"""
GOOGLE_JSON = json.dumps(
    {
        "creationTime": "2026-11-30T10:00:00.000000",
        "prefixes": [{"ipv4Prefix": "192.0.2.0/27"}, {"ipv6Prefix": "2001:db8:4801:4004::/64"}],
    }
)


@pytest.fixture
def ranges_dir(tmp_path):
    """A copy of the shipped snapshots to refresh, so the repository's stay as they are."""
    from emails.machines import DATA_DIR

    for name in (APPLE_FILE, GOOGLE_FILE):
        (tmp_path / name).write_bytes((DATA_DIR / name).read_bytes())
    with override_settings(EMAIL_MACHINE_RANGES_DIR=str(tmp_path)):
        ranges_reload()
        yield tmp_path
    ranges_reload()


@pytest.mark.usefixtures("embedded")
def test_the_refresh_command_reads_apples_csv_and_googles_json(client, ranges_dir, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "egress-ip-ranges.csv").write_text(APPLE_CSV)
    (downloads / "user-triggered-fetchers-google.json").write_text(GOOGLE_JSON)
    sent = sent_to("ada@example.com", consented=True)
    _open(client, sent, address="198.51.100.20")  # an ordinary address until the refresh
    out = io.StringIO()
    call_command(
        "machine_ranges_refresh",
        apple=downloads / "egress-ip-ranges.csv",
        google=downloads / "user-triggered-fetchers-google.json",
        stdout=out,
    )
    assert "4 prefixes" in out.getvalue()
    assert "Restart the web workers" in out.getvalue()
    ranges_reload()  # as a restarted worker would
    refreshed = ("198.51.100.20", "2a02:26f7:b3c0:4000::9", "192.0.2.7", "2001:db8:4801:4004::1")
    for address in refreshed:
        _open(client, sent, address=address)
    _open(client, sent, address="17.58.63.7")  # the refreshed list replaced the shipped one
    sources = list(EmailOpen.objects.order_by("created_at", "id").values_list("machine_source"))
    assert [s for (s,) in sources] == [
        "",
        "apple-relay",
        "apple-relay",
        "google-proxy",
        "google-proxy",
        "",
    ]
    # Written in the published formats, so the next refresh and the loader read them alike.
    snapshot = (ranges_dir / APPLE_FILE).read_text()
    assert "172.224.226.0/26,,,," in snapshot  # the two adjacent /27s, collapsed
    assert json.loads((ranges_dir / GOOGLE_FILE).read_text())["prefixes"][0] == {
        "ipv4Prefix": "192.0.2.0/27"
    }


def test_a_broken_download_leaves_the_snapshot_as_it_was(ranges_dir, tmp_path):
    before = (ranges_dir / APPLE_FILE).read_bytes(), (ranges_dir / GOOGLE_FILE).read_bytes()
    bad_csv = tmp_path / "egress-ip-ranges.csv"
    bad_csv.write_text("<html>rate limited</html>\n")
    good_json = tmp_path / "google.json"
    good_json.write_text(GOOGLE_JSON)
    with pytest.raises(CommandError, match="not a prefix"):
        call_command("machine_ranges_refresh", apple=bad_csv, google=good_json)
    empty = tmp_path / "empty.json"
    empty.write_text('{"prefixes": []}')
    with pytest.raises(CommandError, match="no prefixes"):
        call_command("machine_ranges_refresh", google=empty)
    with pytest.raises(CommandError, match="not a Google IP range file"):
        call_command("machine_ranges_refresh", google=bad_csv)
    after = (ranges_dir / APPLE_FILE).read_bytes(), (ranges_dir / GOOGLE_FILE).read_bytes()
    assert after == before


def test_the_shipped_snapshots_are_dated_and_name_their_sources():
    from emails.machines import DATA_DIR

    apple = (DATA_DIR / APPLE_FILE).read_text()
    google = json.loads((DATA_DIR / GOOGLE_FILE).read_text())
    assert "Snapshot of 20" in apple
    assert "egress-ip-ranges.csv" in apple
    assert "machine_ranges_refresh" in apple
    assert "machine_ranges_refresh" in google["note"]
    assert google["creationTime"].startswith("20")


@pytest.mark.usefixtures("embedded")
def test_an_unreadable_snapshot_leaves_opens_recorded_by_agent(client, ranges_dir):
    (ranges_dir / APPLE_FILE).write_text("not a prefix,,,,\n")
    (ranges_dir / GOOGLE_FILE).unlink()
    ranges_reload()
    sent = sent_to("ada@example.com", consented=True)
    assert _open(client, sent, address="17.58.63.7").status_code == 200
    _open(client, sent, address="66.249.84.10", user_agent=GOOGLE_IMAGE_PROXY)
    sources = EmailOpen.objects.order_by("id").values_list("machine_source", flat=True)
    assert list(sources) == ["", "agent"]
