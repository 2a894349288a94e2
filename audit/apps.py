from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The cookie audit: it checks the whole product from outside, so it sits outside the apps
    it checks, and none of them imports it."""

    name = "audit"
