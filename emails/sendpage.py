"""The admin's send: choose an email, see whom each basis covers, then confirm. Shared by the
contacts list's action and the audiences' action, so that both show the same figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contacts.models import Contact
from emails.models import Email
from emails.selectors import send_plan
from emails.services import email_send


def send_flow(
    *,
    request: HttpRequest,
    context: Mapping[str, Any],
    contacts: QuerySet[Contact],
    hidden: Sequence[tuple[str, str]],
    described: str,
) -> HttpResponse | None:
    """None once sent (the admin goes back to its list), otherwise the page to show: the
    choice of email, then the confirmation with the plan. Nothing is sent before the
    operator has seen the plan and confirmed it."""
    email = None
    if request.POST.get("email_id", "").isdigit():
        email = Email.objects.filter(pk=int(request.POST["email_id"])).first()
    if email is not None and request.POST.get("confirm") == "yes":
        send = email_send(email=email, contacts=contacts)
        plan_note = "Consent and Do-Not-Contact are checked again at send time."
        messages.success(request, f"Queued {send.recipients.count()} recipients. {plan_note}")
        return None
    page = {
        **context,
        "title": "Send an email",
        "described": described,
        "hidden": hidden,
        "emails": Email.objects.order_by("name"),
    }
    if email is None:
        return render(request, "admin/emails/send_choose.html", page)
    plan = send_plan(email=email, contacts=contacts)
    return render(
        request,
        "admin/emails/send_confirm.html",
        {**page, "email": email, "plan": plan, "basis": email.get_basis_display()},
    )
