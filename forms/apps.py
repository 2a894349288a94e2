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
