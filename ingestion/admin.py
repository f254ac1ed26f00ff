from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from ingestion import services
from ingestion.models import DeadLetter, ImportJob, ImportRowError, TaskDelivery

ROW_ERRORS_SHOWN = 50


class _FirstRowErrorsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A job can have a million errors; the page shows the first few, the export has them all.
        return super().get_queryset().order_by("row_no", "id")[:ROW_ERRORS_SHOWN]


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    formset = _FirstRowErrorsFormSet
    fields = ["row_no", "column", "value", "message"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = f"Row errors (first {ROW_ERRORS_SHOWN}; download all via GET /api/files/<id>/errors)"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "status",
        "progress_bar",
        "total",
        "processed",
        "failed",
        "duration",
        "rows_per_second",
        "created_at",
    ]
    list_filter = ["status", "error_code"]
    search_fields = ["id", "filename", "sha256"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]
    inlines = [ImportRowErrorInline]
    readonly_fields = [
        "id",
        "filename",
        "uploaded_by",
        "status",
        "progress_bar",
        "total",
        "processed",
        "failed",
        "chunk_count",
        "duration",
        "rows_per_second",
        "error_code",
        "error_message",
        "sha256",
        "size_bytes",
        "stored_name",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # uploads go through the API or `manage.py import_tickets`

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Progress")
    def progress_bar(self, job):
        return format_html(
            '<div style="width:120px;background:#e5e5e5;border-radius:3px" title="{}%">'
            '<div style="width:{}%;background:{};height:10px;border-radius:3px"></div></div>',
            job.progress,
            int(job.progress),
            "#ba2121" if job.status == "failed" else ("#d8a200" if job.failed else "#4a9b3b"),
        )

    @admin.display(description="Duration")
    def duration(self, job):
        seconds = job.duration_seconds
        return "—" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Rows/s")
    def rows_per_second(self, job):
        seconds = job.duration_seconds
        done = job.processed + job.failed
        if not seconds or not done:
            return "—"
        return f"{done / seconds:,.0f}"


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "chunk_no", "first_row", "rows", "attempts", "short_error", "created_at", "updated_at"]
    list_select_related = ["job"]
    search_fields = ["id", "job__id", "job__filename"]
    readonly_fields = ["id", "job", "chunk_no", "task_name", "attempts", "error", "payload", "created_at", "updated_at"]
    fields = readonly_fields
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="First row")
    def first_row(self, letter):
        return letter.first_row_no

    @admin.display(description="Rows")
    def rows(self, letter):
        return letter.row_count

    @admin.display(description="Error")
    def short_error(self, letter):
        return (letter.error.splitlines() or [""])[0][:120]

    @admin.action(description="Retry the selected dead letters", permissions=["retry"])
    def retry(self, request, queryset):
        count = 0
        for letter in queryset.select_related("job"):
            services.dead_letter_retry(dead_letter=letter)
            count += 1
        self.message_user(request, f"Re-enqueued {count} dead letter(s).", messages.SUCCESS)

    def has_retry_permission(self, request):
        # Same rule as the API (`POST /api/queue/dlq/{id}/retry` is ADMIN only).
        return request.user.is_superuser


@admin.register(TaskDelivery)
class TaskDeliveryAdmin(admin.ModelAdmin):
    """Split and chunk messages being worked on. `deliveries` above 1: earlier deliveries died
    with their worker; at INGESTION_MAX_WORKER_CRASHES + 1 the message stops being run."""

    list_display = ["task_id", "task_name", "deliveries", "first_started_at", "last_started_at"]
    ordering = ["-deliveries", "-last_started_at"]
    readonly_fields = list_display
    fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
