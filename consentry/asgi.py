import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consentry.settings")
# WSGI is the recommended server interface: Django serves about three times more under it.
application = get_asgi_application()
