"""The least Django needs to answer a request: no apps, no middleware, no database, DEBUG off.

Served by the same gunicorn command line as the tracker, so the ratio in the benchmark table is
what Consentry's own work costs on top of Django itself.
"""

from __future__ import annotations

import secrets

DEBUG = False
# Nothing here is signed: Django only insists that the setting exists.
SECRET_KEY = secrets.token_urlsafe(50)
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"  # as Consentry's: Django sets the process's TZ from it
USE_I18N = False
