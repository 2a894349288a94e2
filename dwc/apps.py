from django.apps import AppConfig


class DwcConfig(AppConfig):
    name = "dwc"
    verbose_name = "Dynamic web content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Its counted kind, for the registry the pipeline, reports and data-subject rights
        # loop over (consentry/kinds.py).
        from dwc.kinds import register

        register()
