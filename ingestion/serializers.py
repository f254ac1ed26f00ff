from rest_framework import serializers

from ingestion.models import DeadLetter


class UploadInput(serializers.Serializer):
    # Empty files pass here and are refused as "not an xlsx" (415) by the service.
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class UploadOutput(serializers.Serializer):
    processId = serializers.UUIDField(source="id")  # noqa: N815
    status = serializers.CharField()
    statusUrl = serializers.SerializerMethodField()  # noqa: N815

    def get_statusUrl(self, job) -> str:  # noqa: N802
        return f"/api/files/status/{job.id}"


class ErrorExportFilter(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"], default="csv")


class DeadLetterOutput(serializers.ModelSerializer):
    """A dead letter without its rows (they can be a few hundred KB); the admin shows them."""

    processId = serializers.UUIDField(source="job_id")  # noqa: N815
    chunkNo = serializers.IntegerField(source="chunk_no")  # noqa: N815
    firstRow = serializers.IntegerField(source="first_row_no")  # noqa: N815
    rowCount = serializers.IntegerField(source="row_count")  # noqa: N815
    task = serializers.CharField(source="task_name")
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "processId",
            "chunkNo",
            "firstRow",
            "rowCount",
            "task",
            "error",
            "attempts",
            "createdAt",
            "updatedAt",
        ]


class DeadLetterRetryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    processId = serializers.UUIDField(source="job_id")  # noqa: N815
    chunkNo = serializers.IntegerField(source="chunk_no")  # noqa: N815
    status = serializers.SerializerMethodField()

    def get_status(self, letter) -> str:
        return "requeued"


class QueueCountsOutput(serializers.Serializer):
    waiting = serializers.IntegerField()
    active = serializers.IntegerField()


class QueueStatsOutput(serializers.Serializer):
    queues = serializers.DictField(child=QueueCountsOutput())
    deadLetter = serializers.IntegerField()  # noqa: N815
