"""The stats API: the reports the admin's reports page shows, read through the same functions
(tracker/reports.py), each measure defined in docs/metrics.md."""

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
from tracker.reports import (
    DIMENSION_REPORTS,
    PRESETS,
    RangeRefused,
    consent_rate,
    dimension_rows,
    report_range,
    stats_daily,
    today_utc,
)
from tracker.rollups import rollup_recent

MAX_ROWS = 1000


def _kinds() -> list[str]:
    # The series of every kind registered now (consentry/kinds.py), then the dimensions.
    return [*reports(), *DIMENSION_REPORTS]


class StatsQuerySerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=_kinds(),
        default="page",
        help_text="A series report (page, email, link, form, focus, asset, dwc, video: one row "
        "per day in `days`) or a dimension report (path, referrer, utm, utm_source, utm_medium, "
        "utm_campaign, device, browser: one row per value in `rows`). `utm` is the three UTM "
        "dimensions together.",
    )
    preset = serializers.ChoiceField(
        choices=list(PRESETS),
        required=False,
        help_text="A named range instead of start and end.",
    )
    start = serializers.DateField(required=False, help_text="First day (UTC), included.")
    end = serializers.DateField(
        required=False, help_text="Last day (UTC), included; today when left out."
    )
    object = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A series report's object: an email, link, form, focus item, asset, slot or "
        "video id.",
    )
    site = serializers.CharField(
        required=False, max_length=255, help_text="Page and dimension reports: one site's origin."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ROWS,
        default=100,
        help_text="Dimension reports: the most rows per dimension, most hits first.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _kinds()  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            start, end = report_range(
                start=attrs.get("start"), end=attrs.get("end"), preset=attrs.get("preset", "")
            )
        except RangeRefused as refused:
            raise serializers.ValidationError(str(refused)) from refused
        if attrs["kind"] in DIMENSION_REPORTS and attrs.get("object"):
            raise serializers.ValidationError(
                {"object": "a dimension report covers every page; it takes no object"}
            )
        return {**attrs, "start": start, "end": end}


class StatsConsentSerializer(serializers.Serializer[Any]):
    browsers = serializers.IntegerField(help_text="Browsers that made a tracking choice.")
    granted = serializers.IntegerField(help_text="Of them, those whose latest choice granted.")
    refused = serializers.IntegerField(help_text="… whose latest choice refused (withdrew).")
    objected = serializers.IntegerField(help_text="… whose latest choice objected.")
    rate = serializers.FloatField(
        allow_null=True, help_text="granted / browsers, 0..1; null when no browser chose."
    )
    anonymous_visitors = serializers.IntegerField(help_text="Sum of daily unique visitors.")
    identified_visitors = serializers.IntegerField(help_text="Sum of daily unique devices.")
    visitors = serializers.IntegerField(help_text="People, each once a day, summed over days.")


class StatsDimensionRowSerializer(serializers.Serializer[Any]):
    dimension = serializers.CharField(help_text="path, referrer, utm_source, … device, browser")
    key = serializers.CharField(help_text='The value; "" for hits without one (direct, untagged).')
    hits = serializers.IntegerField(help_text="People's hits (machines apart).")
    anonymous_visitors = serializers.IntegerField(help_text="Sum of daily unique visitors.")
    identified_visitors = serializers.IntegerField(help_text="Sum of daily unique devices.")


class StatsReportSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.ListField(
        child=serializers.DictField(),
        help_text="Series reports: every day of the range, {day, figure: n, …}, every figure "
        "of the report present (0 without data). Empty for a dimension report.",
    )
    rows = StatsDimensionRowSerializer(
        many=True, help_text="Dimension reports: one row per value. Empty for a series report."
    )
    consent = StatsConsentSerializer()


class StatsApi(APIView):
    permission_classes = [per_method(GET=("tracker.view_dailystat",))]

    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses={200: StatsReportSerializer},
    )
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        f = query.validated_data
        kind, start, end = f["kind"], f["start"], f["end"]
        dimensional = kind in DIMENSION_REPORTS
        recent = end >= today_utc() - dt.timedelta(days=1)
        if (
            (kind == "page" or dimensional)
            and recent
            and rollups_refresh_allowed(user=request.user)
        ):
            rollup_recent()  # today's and yesterday's figures are still arriving
        days = (
            []
            if dimensional
            else stats_daily(
                kind=kind, start=start, end=end, object_id=f.get("object"), site=f.get("site")
            )
        )
        rows = (
            dimension_rows(kind=kind, start=start, end=end, site=f.get("site"), limit=f["limit"])
            if dimensional
            else []
        )
        return Response(
            {
                "kind": kind,
                "start": start,
                "end": end,
                "days": days,
                "rows": rows,
                "consent": consent_rate(start=start, end=end),
            }
        )
