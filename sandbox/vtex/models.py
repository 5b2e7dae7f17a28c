"""VTEX simulator state. Accounts and their API keys first; orders and the rest build on them."""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    """A VTEX account (store) and one API key pair of it. One appKey belongs to exactly one account."""

    account_name = models.CharField(max_length=100)
    app_key = models.CharField(max_length=200, unique=True)
    app_token = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.account_name} ({self.app_key})"
