from __future__ import annotations

from django.db import models


class SetupStep(models.Model):
    """A first-run step that is done once and never again, such as loading the demo: the
    operator may change or erase what it made, and a later start must not bring it back."""

    name = models.CharField(max_length=64, unique=True)
    done_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
