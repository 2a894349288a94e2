from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.converters import MAX_ID
from api.permissions import per_method, rollups_refresh_allowed
from consentry.kinds import reports
from tracker.reports import consent_rate, stats_daily
from tracker.rollups import rollup_recent


class StatsApi(APIView):
    permission_classes = [per_method(GET=("tracker.view_dailystat",))]

    class FilterSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=reports(), default="page")
        start = serializers.DateField(required=False)
        end = serializers.DateField(required=False)
        object = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
        site = serializers.CharField(required=False, max_length=255)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # The reports of every kind registered now (consentry/kinds.py).
            self.fields["kind"].choices = reports()  # type: ignore[attr-defined]

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            end = attrs.get("end") or dt.datetime.now(tz=dt.UTC).date()
            start = attrs.get("start") or end - dt.timedelta(days=29)
            if start > end or (end - start).days > 366:
                raise serializers.ValidationError("start..end must be at most a year, in order")
            return {**attrs, "start": start, "end": end}

    @extend_schema(parameters=[FilterSerializer], responses={200: serializers.DictField()})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        recent = f["end"] >= dt.datetime.now(tz=dt.UTC).date() - dt.timedelta(days=1)
        if f["kind"] == "page" and recent and rollups_refresh_allowed(user=request.user):
            rollup_recent()  # today's and yesterday's figures are still arriving
        rows = stats_daily(
            kind=f["kind"],
            start=f["start"],
            end=f["end"],
            object_id=f.get("object"),
            site=f.get("site"),
        )
        return Response(
            {
                "kind": f["kind"],
                "start": f["start"],
                "end": f["end"],
                "days": rows,
                "consent": consent_rate(start=f["start"], end=f["end"]),
            }
        )
