from rest_framework import serializers

from ingestion.models import DeadLetter
from techsupport import camelcase


class UploadInput(camelcase.Serializer):
    # Empty files pass here and are refused as "not an xlsx" (415) by the service.
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class UploadOutput(camelcase.Serializer):
    process_id = serializers.UUIDField(source="id")
    status = serializers.CharField()
    status_url = serializers.SerializerMethodField()

    def get_status_url(self, job) -> str:
        return f"/api/files/status/{job.id}"


class ErrorExportFilter(camelcase.Serializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv")


class DeadLetterOutput(camelcase.ModelSerializer):
    """A dead letter without its rows (they can be a few hundred KB); the admin shows them."""

    process_id = serializers.UUIDField(source="job_id")
    chunk_no = serializers.IntegerField()
    first_row = serializers.IntegerField(source="first_row_no")
    row_count = serializers.IntegerField()
    task = serializers.CharField(source="task_name")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "process_id",
            "chunk_no",
            "first_row",
            "row_count",
            "task",
            "error",
            "attempts",
            "created_at",
            "updated_at",
        ]


class DeadLetterRetryOutput(camelcase.Serializer):
    id = serializers.UUIDField()
    process_id = serializers.UUIDField(source="job_id")
    chunk_no = serializers.IntegerField()
    status = serializers.SerializerMethodField()

    def get_status(self, letter) -> str:
        return "requeued"


class QueueCountsOutput(camelcase.Serializer):
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()


class QueueStatsOutput(camelcase.Serializer):
    queues = serializers.DictField(child=QueueCountsOutput())
    dead_letter = serializers.IntegerField()
