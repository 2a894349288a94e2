"""Forms' counted kind: a submission."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from consentry.kinds import Hook, Kind, Series, kind_register


def _timeline(submission: Any) -> tuple[str, dict[str, Any]]:
    return "form_submission", {"form_id": submission.form_id}


def _submitted(submission: Any) -> dict[str, Any]:
    return {
        "form": {"id": submission.form_id, "name": submission.form.name},
        "submission": {"id": submission.pk, "values": submission.data},
        "contact": {"id": submission.contact_id},
    }


def register() -> None:
    from forms.models import Submission

    kind_register(
        Kind(
            code="submission",
            model=Submission,
            owner="contact",
            export_as="form_submissions",
            series=(
                Series(
                    report="form",
                    counts={"submissions": Q(), "identified_submissions": Q(identified=True)},
                    object_field="form_id",
                ),
            ),
            # A submission stays in the form's counts, attributed to no one and without the
            # answers it gave (the address among them).
            erase_detach=("contact",),
            erase_clear={"data": {}},
            timeline=_timeline,
            hook=Hook(
                event="form.submitted",
                description="A form was submitted by a known contact (its email field, or "
                "a browser tied to one): the answers, as the form collected them.",
                data=_submitted,
                related=("form",),
            ),
        )
    )
