from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request


def model_permission(*perms: str) -> type[BasePermission]:
    """A permission class requiring Django model permissions, e.g. "emails.view_email"."""

    class HasPerms(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    HasPerms.__name__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPerms


def per_method(**perms: tuple[str, ...]) -> type[BasePermission]:
    """Different model permissions per HTTP method: per_method(GET=(...), POST=(...))."""

    class PerMethod(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            needed = perms.get(request.method or "", perms.get("GET", ()))
            return bool(user.has_perms(needed))

    return PerMethod


class ModelPermissionsWithView(DjangoModelPermissions):
    """Django's model permissions, reading included: a user without view_* gets 403."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
