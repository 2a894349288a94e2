from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "video"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Its counted kind, for the registry the pipeline, reports and data-subject rights loop
        # over (consentry/kinds.py).
        from video.kinds import register

        register()
