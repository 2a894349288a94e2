from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers


@cache
def paginated(item: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The documented shape of a page of `item`s, as PageNumberPagination answers it."""
    return type(
        f"Paginated{item.__name__}",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
