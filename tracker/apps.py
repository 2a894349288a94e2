from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Its counted kinds, for the registry the pipeline, reports and data-subject rights
        # loop over (consentry/kinds.py).
        from tracker.kinds import register

        register()
