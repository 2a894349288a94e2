"""Email's counted kinds: a message sent to a recipient, its opens and its clicks."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from consentry.kinds import Hook, Kind, Series, kind_register

_OPENS = {
    "human_opens": Q(machine=False),
    "machine_opens": Q(machine=True),
    "identified_opens": Q(recipient__isnull=False),
}
_CLICKS = {
    "clicks": Q(machine=False),
    "machine_clicks": Q(machine=True),
    "identified_clicks": Q(recipient__isnull=False),
}

# The link report names them in this order.
_LINK_CLICKS = {k: _CLICKS[k] for k in ("clicks", "identified_clicks", "machine_clicks")}


def _sent(recipient: Any) -> tuple[str, dict[str, Any]]:
    return "email_sent", {"email": recipient.send.email.name, "status": recipient.status}


def _opened(open_: Any) -> tuple[str, dict[str, Any]]:
    return "email_open", {"email_id": open_.email_id}


def _clicked(click: Any) -> tuple[str, dict[str, Any]]:
    return "email_click", {"url": click.link.url}


def _sent_data(recipient: Any) -> dict[str, Any]:
    return {
        "email": {"id": recipient.send.email_id, "name": recipient.send.email.name},
        "send": {"id": recipient.send_id},
        "recipient": {"id": recipient.pk},
        "contact": {"id": recipient.contact_id},
    }


def _opened_data(open_: Any) -> dict[str, Any]:
    return {
        "email": {"id": open_.email_id},
        "send": {"id": open_.recipient.send_id},
        "recipient": {"id": open_.recipient_id},
        "contact": {"id": open_.recipient.contact_id},
    }


def _clicked_data(click: Any) -> dict[str, Any]:
    return {
        "email": {"id": click.link.email_id},
        "send": {"id": click.recipient.send_id},
        "recipient": {"id": click.recipient_id},
        "contact": {"id": click.recipient.contact_id},
        "link": {"id": click.link_id, "url": click.link.url},
    }


def register() -> None:
    from emails.models import EmailClick, EmailOpen, Recipient
    from emails.services import clicks_store, opens_store

    kind_register(
        Kind(
            code="sent",
            model=Recipient,
            owner="contact",
            export_as="email_recipients",
            # A token is a capability (whoever holds it can unsubscribe the recipient), not
            # data about them, and an export passes through other hands.
            export_exclude=("token",),
            series=(
                Series(
                    report="email",
                    counts={"sent": Q()},
                    time_field="sent_at",
                    object_field="send__email_id",
                    base=Q(status="sent"),
                ),
            ),
            # An erased contact's recipient rows stay, with no contact, token, Message-ID nor
            # server answer (which may quote the address): the send's figures count them still,
            # and their opens and clicks stay with them, so unique opens do not change.
            erase_detach=("contact",),
            erase_clear={"token": None, "message_id": "", "error": ""},
            timeline=_sent,
            timeline_time="sent_at",
            timeline_order="-id",
            timeline_related=("send__email",),
            hook=Hook(
                event="email.sent",
                description="An email was handed to the mail server for a contact.",
                data=_sent_data,
                where=Q(status="sent"),
                related=("send__email",),
            ),
        )
    )
    kind_register(
        Kind(
            code="open",
            model=EmailOpen,
            owner="recipient__contact",
            export_as="email_opens",
            store=opens_store,
            fields={"t": str},
            series=(Series(report="email", counts=_OPENS, object_field="email_id"),),
            # Opens stay with their recipient, which an erasure keeps and empties.
            erase_detach=(),
            timeline=_opened,
            # Attributed opens only (a recipient who consents to tracking), never a machine's.
            hook=Hook(
                event="email.opened",
                description="A contact opened an email (their own opens, never a mail "
                "proxy's or a scanner's; only for recipients who consent to tracking).",
                data=_opened_data,
                where=Q(machine=False),
                related=("recipient",),
            ),
        )
    )
    kind_register(
        Kind(
            code="click",
            model=EmailClick,
            owner="recipient__contact",
            export_as="email_clicks",
            store=clicks_store,
            fields={"l": int},
            series=(
                Series(report="email", counts=_CLICKS, object_field="link__email_id"),
                Series(
                    report="link",
                    counts=_LINK_CLICKS,
                    object_field="link_id",
                ),
            ),
            erase_detach=(),
            timeline=_clicked,
            timeline_related=("link",),
            hook=Hook(
                event="email.clicked",
                description="A contact clicked a tracked link in an email (never a link "
                "scanner's click).",
                data=_clicked_data,
                where=Q(machine=False),
                related=("link", "recipient"),
            ),
        )
    )
