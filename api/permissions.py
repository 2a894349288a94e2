from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def model_permission(*perms: str) -> type[BasePermission]:
    """A permission class requiring Django model permissions, e.g. "emails.view_email"."""

    class HasPerms(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    HasPerms.__name__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPerms
