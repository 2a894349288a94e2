from typing import Any

from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "forms"
    label = "forms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Its counted kinds, for the registry the pipeline, reports and data-subject rights
        # loop over (consentry/kinds.py).
        from forms.kinds import register

        register()
        # A submission answers from a per-process copy of its form (forms.selectors): any save
        # or delete of a form or a field, whoever makes it (the admin and its inline fields,
        # the API, a shell), renews it in every process.
        from django.db.models.signals import post_delete, post_save

        from forms.models import Field, Form

        for model in (Form, Field):
            post_save.connect(_changed, sender=model, dispatch_uid=f"forms.saved.{model.__name__}")
            post_delete.connect(
                _changed, sender=model, dispatch_uid=f"forms.deleted.{model.__name__}"
            )


def _changed(**kwargs: Any) -> None:
    from forms.selectors import forms_changed

    forms_changed()
