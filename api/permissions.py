"""Who may call which API operation: Django's model permissions, declared per view.

Every class here fails closed. An operation added to a view without its own permissions is
refused to everyone, never opened to every signed-in user (tests/api/test_api_permissions.py
walks the URL conf and holds each operation to a declared matrix)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request

# Rolling up today's figures on read is a write (tracker.rollups replaces the day's rows), so
# a read refreshes them only for a user who may change them; everyone else reads what the
# scheduler rolled up last (every five minutes).
ROLLUP_REFRESH = "tracker.change_dailystat"


def model_permission(*perms: str) -> type[BasePermission]:
    """The same model permissions for every method, e.g. "emails.add_emailsend"."""

    class HasPerms(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    HasPerms.__name__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPerms


def per_method(**perms: tuple[str, ...]) -> type[BasePermission]:
    """Model permissions per HTTP method: per_method(GET=(...), POST=(...)).

    HEAD needs what GET needs. OPTIONS, which only describes the operations, needs what any
    one declared method needs. A method the view handles but does not declare is refused."""

    class PerMethod(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            method = (request.method or "").upper()
            if method == "HEAD":
                method = "GET"
            if method == "OPTIONS":
                return any(user.has_perms(needed) for needed in perms.values())
            if method not in perms:
                # No handler at all: let the view answer 405 Method Not Allowed.
                return not hasattr(view, method.lower())
            return bool(user.has_perms(perms[method]))

    PerMethod.__name__ = "PerMethod_" + "_".join(sorted(perms))
    return PerMethod


class ModelPermissionsWithView(DjangoModelPermissions):
    """Django's model permissions, reading included: a user without view_* gets 403."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def rollups_refresh_allowed(*, user: Any) -> bool:
    """May this user's read roll up the days whose hits are still arriving?"""
    return bool(user and user.is_authenticated and user.has_perm(ROLLUP_REFRESH))
