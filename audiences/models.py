"""Saved audiences: a name and the filters that choose contacts, kept as data (never code),
checked by audiences.filters before they are stored."""

from __future__ import annotations

from django.db import models


class Audience(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # The checked filter document (audiences.filters.filters_clean); read by
    # audiences.selectors.audience_contacts, never evaluated.
    filters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
