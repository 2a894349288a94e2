"""The videos API: videos and their gates, and the plays reported per video address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import ModelPermissionsWithView, per_method
from video.models import Video
from video.selectors import video_report

MAX_DAYS = 366


class VideoSerializer(serializers.ModelSerializer[Video]):
    class Meta:
        model = Video
        fields = [
            "id",
            "name",
            "url",
            "published",
            "form",
            "gate_seconds",
            "created_at",
            "updated_at",
        ]


class VideoListApi(generics.ListCreateAPIView[Video]):
    queryset = Video.objects.order_by("id")
    serializer_class = VideoSerializer
    permission_classes = [ModelPermissionsWithView]


class VideoDetailApi(generics.RetrieveUpdateDestroyAPIView[Video]):
    queryset = Video.objects.order_by("id")
    serializer_class = VideoSerializer
    permission_classes = [ModelPermissionsWithView]


class VideoReportFilter(serializers.Serializer[Any]):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or dt.datetime.now(tz=dt.UTC).date()
        start = attrs.get("start") or end - dt.timedelta(days=29)
        if start > end:
            raise serializers.ValidationError("start must not be after end")
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError(f"at most {MAX_DAYS} days")
        return {"start": start, "end": end}


class VideoReportRow(serializers.Serializer[Any]):
    url = serializers.CharField()
    video = serializers.IntegerField(allow_null=True)
    plays = serializers.IntegerField()
    seconds_watched = serializers.IntegerField()
    identified_plays = serializers.IntegerField()


class VideoReportOutput(serializers.Serializer[Any]):
    start = serializers.DateField()
    end = serializers.DateField()
    videos = VideoReportRow(many=True)


class VideoReportApi(APIView):
    permission_classes = [per_method(GET=("video.view_videohit",))]

    @extend_schema(parameters=[VideoReportFilter], responses=VideoReportOutput)
    def get(self, request: Request) -> Response:
        """Plays and seconds watched by people, per video address, most played first."""
        filters = VideoReportFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        days = filters.validated_data
        rows = video_report(start=days["start"], end=days["end"])
        return Response(VideoReportOutput({**days, "videos": rows}).data)
