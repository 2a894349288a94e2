from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsentryConfig(AppConfig):
    name = "consentry"
    default = True


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin, with Consentry's reports and privacy-settings pages."""

    default = False
    default_site = "consentry.admin_site.ConsentryAdminSite"
