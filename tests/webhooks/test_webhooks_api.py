"""The webhooks API: endpoints created, changed and deleted over HTTP, the secret shown once,
a test event sent to a real receiver and verified with the Standard Webhooks library, the
delivery log, redelivery, and who may do what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from tests.support.apiclients import ALL, api_client, model_perms
from tests.support.receiver import Answer
from webhooks.models import Attempt, Delivery, Endpoint, WebhookEvent
from webhooks.services import deliveries_due_run, endpoint_create
from webhooks.signing import secret_new

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/webhooks/"
SECRET_MARK = "whsec_"


@pytest.fixture
def admin() -> APIClient:
    return api_client(
        *model_perms("webhooks", "endpoint", *ALL), *model_perms("webhooks", "delivery", *ALL)
    )


def create(client: APIClient, **body: Any) -> Any:
    return client.post(URL, {"events": ["contact.created"], **body}, format="json")


def test_a_new_endpoint_shows_its_generated_secret_in_the_create_answer_only(admin):
    created = create(admin, url="https://crm.example.com/hooks", description="CRM sync")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith(SECRET_MARK)
    assert body["secret"] == Endpoint.objects.get().secret
    assert body["status"] == "active"
    assert (body["url"], body["description"], body["events"]) == (
        "https://crm.example.com/hooks",
        "CRM sync",
        ["contact.created"],
    )
    item = f"{URL}{body['id']}/"
    answers = [
        admin.get(URL),
        admin.get(item),
        admin.patch(item, {"description": "CRM"}, format="json"),
        admin.patch(item, {"secret": secret_new()}, format="json"),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.content
        assert SECRET_MARK not in answer.content.decode()
        assert "secret" not in answer.content.decode()


def test_a_secret_given_at_creation_is_the_one_kept(admin):
    secret = secret_new()
    created = create(admin, url="https://crm.example.com/hooks", secret=secret)
    assert created.status_code == 201
    assert created.json()["secret"] == secret == Endpoint.objects.get().secret


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://crm.example.com/"}, "url", "only http and https"),
        ({"url": "https://user:pw@crm.example.com/"}, "url", "user name or password"),
        ({"url": "crm.example.com"}, "url", "only http and https"),
        ({"url": "https://crm.example.com/", "events": []}, "events", ""),
        (
            {"url": "https://crm.example.com/", "events": ["contact.created", "contact.eaten"]},
            "events",
            "contact.eaten",
        ),
        ({"url": "https://crm.example.com/", "events": ["webhook.test"]}, "events", "webhook.test"),
        ({"url": "https://crm.example.com/", "secret": "hunter2"}, "secret", "whsec_"),
        ({"url": "https://crm.example.com/", "secret": "whsec_c2hvcnQ="}, "secret", "24 to 64"),
    ],
)
def test_a_create_that_cannot_work_is_refused_under_the_field_at_fault(admin, body, field, words):
    answer = create(admin, **body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["error"] == "invalid"
    assert list(error["fields"]) == [field]
    assert words in " ".join(error["fields"][field])
    assert not Endpoint.objects.exists()


def test_an_unknown_event_type_is_named_and_the_known_ones_are_not(admin):
    answer = create(admin, url="https://a.example.com/", events=["dnc.added", "dnc.gone"])
    (message,) = answer.json()["fields"]["events"]
    assert "dnc.gone" in message
    assert "dnc.added" not in message


def test_the_catalog_lists_every_type_an_endpoint_may_subscribe_to(admin):
    catalog = admin.get(f"{URL}event-types/").json()
    types = {entry["type"]: entry["description"] for entry in catalog}
    assert "consent.changed" in types
    assert types["contact.erased"].startswith("A contact was erased")
    assert "webhook.test" not in types
    # What the catalog lists, a create accepts.
    assert create(admin, url="https://a.example.com/", events=list(types)).status_code == 201


def test_a_patch_changes_what_it_names_and_is_checked_as_a_create_is(admin):
    endpoint = endpoint_create(url="https://a.example.com/", events=["dnc.added"])
    item = f"{URL}{endpoint.pk}/"
    changed = admin.patch(item, {"events": ["dnc.removed", "dnc.added"]}, format="json")
    assert changed.status_code == 200
    assert changed.json()["events"] == ["dnc.added", "dnc.removed"]
    assert changed.json()["url"] == "https://a.example.com/"
    for body, field in [
        ({"events": ["nope"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "gopher://a.example.com/"}, "url"),
        ({"secret": "whsec_!!"}, "secret"),
        ({"secret": ""}, "secret"),
    ]:
        refused = admin.patch(item, body, format="json")
        assert refused.status_code == 400, body
        assert list(refused.json()["fields"]) == [field]
    endpoint.refresh_from_db()
    assert endpoint.events == ["dnc.added", "dnc.removed"]
    secret = secret_new()
    assert admin.patch(item, {"secret": secret}, format="json").status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret == secret


def test_the_status_says_failing_or_disabled_and_switching_on_again_forgets_why(admin):
    endpoint = endpoint_create(url="https://a.example.com/", events=["dnc.added"])
    item = f"{URL}{endpoint.pk}/"
    Endpoint.objects.update(failing_since=timezone.now())
    assert admin.get(item).json()["status"] == "failing"
    Endpoint.objects.update(
        active=False, disabled_at=timezone.now(), disabled_reason="The receiver answered 410 Gone"
    )
    off = admin.get(item).json()
    assert (off["status"], off["active"]) == ("disabled", False)
    assert off["disabled_reason"] == "The receiver answered 410 Gone"
    on = admin.patch(item, {"active": True}, format="json").json()
    assert (on["status"], on["disabled_reason"], on["disabled_at"], on["failing_since"]) == (
        "active",
        "",
        None,
        None,
    )


def test_deleting_an_endpoint_takes_its_deliveries_and_their_events(admin, receiver):
    kept = endpoint_create(url="https://b.example.com/", events=["dnc.added"])
    endpoint_id = create(admin, url=receiver.url).json()["id"]
    admin.post(f"{URL}{endpoint_id}/test/")
    admin.post(f"{URL}{kept.pk}/test/")
    assert Delivery.objects.count() == 2
    assert admin.delete(f"{URL}{endpoint_id}/").status_code == 204
    assert admin.get(f"{URL}{endpoint_id}/").status_code == 404
    assert list(Endpoint.objects.all()) == [kept]
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [kept.pk]
    assert WebhookEvent.objects.count() == 1
    assert admin.delete(f"{URL}{endpoint_id}/").status_code == 404


def test_a_test_event_reaches_the_receiver_signed_with_the_secret_of_the_create(admin, receiver):
    created = create(admin, url=receiver.url).json()
    queued = admin.post(f"{URL}{created['id']}/test/")
    assert queued.status_code == 202
    delivery = queued.json()
    assert delivery["event_id"].startswith("msg_")
    assert (delivery["event_type"], delivery["status"], delivery["attempts"]) == (
        "webhook.test",
        "pending",
        0,
    )
    assert deliveries_due_run() == 1
    (request,) = receiver.requests
    payload = Webhook(created["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint"] == {"id": created["id"]}
    assert request.headers["webhook-id"] == delivery["event_id"]

    log = admin.get(f"{URL}{created['id']}/deliveries/").json()
    assert log["count"] == 1
    (entry,) = log["results"]
    assert (entry["id"], entry["status"], entry["attempts"], entry["last_status_code"]) == (
        delivery["id"],
        "succeeded",
        1,
        200,
    )
    assert entry["finished_at"] is not None
    assert entry["next_attempt_at"] is None

    one = admin.get(f"{URL}deliveries/{delivery['id']}/").json()
    (attempt,) = one["attempt_log"]
    assert (attempt["status_code"], attempt["response_head"], attempt["error"]) == (200, "ok", "")
    assert one["body"] == json.loads(request.body)
    assert one["endpoint"] == created["id"]


def test_the_delivery_log_is_newest_first_and_filters_by_status(admin, receiver):
    endpoint_id = create(admin, url=receiver.url).json()["id"]
    receiver.script = [Answer(status=500, body=b"down")]
    first = admin.post(f"{URL}{endpoint_id}/test/").json()["id"]
    deliveries_due_run()
    second = admin.post(f"{URL}{endpoint_id}/test/").json()["id"]
    log = f"{URL}{endpoint_id}/deliveries/"
    assert [d["id"] for d in admin.get(log).json()["results"]] == [second, first]
    pending = admin.get(log, {"status": "pending"}).json()["results"]
    # The failed first attempt waits for its retry: pending too, with its error and next time.
    assert [d["id"] for d in pending] == [second, first]
    assert pending[1]["last_status_code"] == 500
    assert pending[1]["last_error"] == "HTTP 500"
    assert pending[1]["next_attempt_at"] is not None
    assert admin.get(log, {"status": "succeeded"}).json()["results"] == []
    assert admin.get(log, {"status": "lost"}).status_code == 400
    one = admin.get(f"{URL}deliveries/{first}/").json()
    assert [a["response_head"] for a in one["attempt_log"]] == ["down"]
    # Another endpoint's log is its own.
    other = endpoint_create(url="https://b.example.com/", events=["dnc.added"])
    assert admin.get(f"{URL}{other.pk}/deliveries/").json()["count"] == 0


def test_a_redelivery_sends_the_same_event_again_unless_the_endpoint_is_off(admin, receiver):
    created = create(admin, url=receiver.url).json()
    delivery_id = admin.post(f"{URL}{created['id']}/test/").json()["id"]
    deliveries_due_run()
    again = admin.post(f"{URL}deliveries/{delivery_id}/redeliver/")
    assert again.status_code == 202
    assert again.json()["status"] == "pending"
    deliveries_due_run()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(created["secret"]).verify(second.body, second.headers)
    assert Attempt.objects.filter(delivery_id=delivery_id).count() == 2

    admin.patch(f"{URL}{created['id']}/", {"active": False}, format="json")
    refused = admin.post(f"{URL}deliveries/{delivery_id}/redeliver/")
    assert refused.status_code == 409
    assert refused.json()["error"] == "endpoint_disabled"
    assert "switched off" in refused.json()["detail"]
    assert admin.post(f"{URL}{created['id']}/test/").status_code == 409
    deliveries_due_run()
    assert len(receiver.requests) == 2
    assert admin.post(f"{URL}deliveries/{delivery_id + 1000}/redeliver/").status_code == 404


def test_without_permissions_nothing_is_shown_and_a_viewer_changes_nothing(admin):
    endpoint = endpoint_create(url="https://a.example.com/", events=["dnc.added"])
    delivery_id = admin.post(f"{URL}{endpoint.pk}/test/").json()["id"]
    nobody = api_client()
    for path in [URL, f"{URL}{endpoint.pk}/", f"{URL}event-types/", f"{URL}deliveries/1/"]:
        assert nobody.get(path).status_code == 403
    assert APIClient().get(URL).status_code == 401

    viewer = api_client(*model_perms("webhooks", "endpoint", "view"))
    assert viewer.get(URL).json()["count"] == 1
    assert SECRET_MARK not in viewer.get(URL).content.decode()
    assert create(viewer, url="https://b.example.com/").status_code == 403
    assert viewer.patch(f"{URL}{endpoint.pk}/", {"active": False}, format="json").status_code == 403
    assert viewer.delete(f"{URL}{endpoint.pk}/").status_code == 403
    assert viewer.post(f"{URL}{endpoint.pk}/test/").status_code == 403
    # The delivery log shows payloads about people: it needs its own permission.
    assert viewer.get(f"{URL}{endpoint.pk}/deliveries/").status_code == 403
    assert viewer.get(f"{URL}deliveries/{delivery_id}/").status_code == 403

    log_reader = api_client(*model_perms("webhooks", "delivery", "view"))
    assert log_reader.get(f"{URL}deliveries/{delivery_id}/").status_code == 200
    assert log_reader.post(f"{URL}deliveries/{delivery_id}/redeliver/").status_code == 403
    assert Endpoint.objects.get().active is True
    assert Delivery.objects.count() == 1
