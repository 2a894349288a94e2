"""The operator's own traffic: a request that carries a valid admin session of a staff user.
The gate counts none of its hits (docs/metrics.md, "The operator's own traffic").

Only pages served by Consentry's own origin send the session cookie (a landing page, the demo,
the hits their scripts and pixels make, a tracked link followed from the operator's mail): it
is SameSite=Lax, so a host site's page never sends it. Almost every hit therefore carries none,
and costs one dictionary lookup; only a request that carries one costs the session's and the
user's rows.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare


def staff_session(request: HttpRequest) -> bool:
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    user = getattr(request, "user", None)
    if user is not None:
        # The whole middleware chain already read the session: its user says.
        return bool(user.is_active and user.is_staff)
    try:
        session = import_module(settings.SESSION_ENGINE).SessionStore(key)
        user_id = session.get(SESSION_KEY)
        if user_id is None:
            return False
        staff = get_user_model()._default_manager.filter(pk=user_id, is_active=True, is_staff=True)
        found = staff.first()
    except (DatabaseError, ValueError):
        # Unreadable: the hit counts as anyone's would.
        return False
    # A session that a password change ended is no longer the operator's.
    return found is not None and constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), found.get_session_auth_hash()
    )
