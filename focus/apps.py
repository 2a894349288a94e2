from django.apps import AppConfig


class FocusConfig(AppConfig):
    name = "focus"
    default_auto_field = "django.db.models.BigAutoField"
