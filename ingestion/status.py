"""The status of an import job: one shape for `GET /api/files/status/{id}`, `GET /api/files` and
the `last-processes` report (which the reports app builds from here, not from ingestion's API
serializers)."""

from rest_framework import serializers

from ingestion.models import ImportJob, ImportJobStatus, ImportRowError
from techsupport import camelcase


class RowErrorOutput(camelcase.ModelSerializer):
    row = serializers.IntegerField(source="row_no")

    class Meta:
        model = ImportRowError
        fields = ["row", "column", "message"]


class ImportJobStatusOutput(camelcase.ModelSerializer):
    """The one shape of a job's status: `GET /api/files/status/{id}`, `GET /api/files` and the
    `last-processes` report. Expects jobs from `ingestion.selectors` (they carry `first_errors`)."""

    process_id = serializers.UUIDField(source="id")
    progress = serializers.FloatField(
        help_text="0..100, never decreasing. While the split runs (totalFinal false) it is measured against "
        "the sheet's height, which the total never exceeds; then against the total."
    )
    total_final = serializers.BooleanField(
        source="total_final", help_text="Whether `total` is final: false while rows are still being enqueued."
    )
    error_code = serializers.SerializerMethodField(
        help_text="Why the import failed, a stable code (`missing_columns`, `duplicate_columns`, `empty_sheet`, "
        "`too_many_rows`, `sheet_too_wide`, `sheet_too_large`, `too_many_strings`, `too_many_sheets`, "
        "`text_too_long`, `part_too_large`, `too_many_parts`, `not_xlsx`, `unreadable_workbook`, `worker_crashed`, "
        "`split_failed`, `import_failed` for jobs that failed before codes were recorded); null unless `status` is "
        "`failed`."
    )
    error_message = serializers.SerializerMethodField(
        help_text="The reason as a sentence; null unless `status` is `failed`."
    )
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    errors = RowErrorOutput(source="first_errors", many=True)

    class Meta:
        model = ImportJob
        fields = [
            "process_id",
            "filename",
            "status",
            "total",
            "processed",
            "failed",
            "progress",
            "total_final",
            "started_at",
            "finished_at",
            "created_at",
            "error_code",
            "error_message",
            "errors",
        ]

    def get_error_code(self, job) -> str | None:
        return (job.error_code or "import_failed") if job.status == ImportJobStatus.FAILED else None

    def get_error_message(self, job) -> str | None:
        return (job.error_message or "The import failed.") if job.status == ImportJobStatus.FAILED else None


# The flat columns of the status (the report's CSV and xlsx leave out the nested `errors`).
STATUS_COLUMNS = tuple(camelcase.camel(name) for name in ImportJobStatusOutput.Meta.fields if name != "errors")
