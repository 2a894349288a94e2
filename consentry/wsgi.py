import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consentry.settings")
django.setup(set_prefix=False)

from consentry.handlers import Application  # noqa: E402 - needs the apps loaded

application = Application()
