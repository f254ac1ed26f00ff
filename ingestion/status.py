"""The status of an import job: one shape for `GET /api/files/status/{id}`, `GET /api/files` and
the `last-processes` report (which the reports app builds from here, not from ingestion's API
serializers)."""

from rest_framework import serializers

from ingestion.models import ImportJob, ImportJobStatus, ImportRowError


class RowErrorOutput(serializers.ModelSerializer):
    row = serializers.IntegerField(source="row_no")

    class Meta:
        model = ImportRowError
        fields = ["row", "column", "message"]


class ImportJobStatusOutput(serializers.ModelSerializer):
    """The one shape of a job's status: `GET /api/files/status/{id}`, `GET /api/files` and the
    `last-processes` report. Expects jobs from `ingestion.selectors` (they carry `first_errors`)."""

    processId = serializers.UUIDField(source="id")  # noqa: N815
    progress = serializers.FloatField(
        help_text="0..100, never decreasing. While the split runs (totalFinal false) it is measured against "
        "the sheet's height, which the total never exceeds; then against the total."
    )
    totalFinal = serializers.BooleanField(  # noqa: N815
        source="total_final", help_text="Whether `total` is final: false while rows are still being enqueued."
    )
    errorCode = serializers.SerializerMethodField(  # noqa: N815
        help_text="Why the import failed, a stable code (`missing_columns`, `duplicate_columns`, `empty_sheet`, "
        "`too_many_rows`, `sheet_too_wide`, `sheet_too_large`, `too_many_strings`, `too_many_sheets`, "
        "`text_too_long`, `part_too_large`, `too_many_parts`, `not_xlsx`, `unreadable_workbook`, `worker_crashed`, "
        "`split_failed`, `import_failed` for jobs that failed before codes were recorded); null unless `status` is "
        "`failed`."
    )
    errorMessage = serializers.SerializerMethodField(  # noqa: N815
        help_text="The reason as a sentence; null unless `status` is `failed`."
    )
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    errors = RowErrorOutput(source="first_errors", many=True)

    class Meta:
        model = ImportJob
        fields = [
            "processId",
            "filename",
            "status",
            "total",
            "processed",
            "failed",
            "progress",
            "totalFinal",
            "startedAt",
            "finishedAt",
            "createdAt",
            "errorCode",
            "errorMessage",
            "errors",
        ]

    def get_errorCode(self, job) -> str | None:  # noqa: N802
        return (job.error_code or "import_failed") if job.status == ImportJobStatus.FAILED else None

    def get_errorMessage(self, job) -> str | None:  # noqa: N802
        return (job.error_message or "The import failed.") if job.status == ImportJobStatus.FAILED else None


# The flat columns of the status (the report's CSV and xlsx leave out the nested `errors`).
STATUS_COLUMNS = tuple(name for name in ImportJobStatusOutput.Meta.fields if name != "errors")
