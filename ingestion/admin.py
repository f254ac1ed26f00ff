"""Imports in the back-office: live progress (percentage, rows/s) on the list and the job page,
the workbook upload page (the API's upload service), row errors, dead letters with *retry*."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.roles import STAFF_ROLES
from ingestion import services
from ingestion.models import DeadLetter, ImportJob, ImportJobStatus, ImportRowError, TaskDelivery
from ingestion.progress import import_job_progress
from techsupport.exceptions import AppError
from techsupport.validation import parse_uuid

ROW_ERRORS_SHOWN = 50
PROGRESS_IDS_MAX = 100
# Method names, not the model's field names: the admin would show a field's plain value instead.
LIVE_COLUMNS = [
    "live_status",
    "progress_bar",
    "live_total",
    "live_processed",
    "live_failed",
    "duration",
    "rows_per_second",
]


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


class WorkbookUploadForm(forms.Form):
    file = forms.FileField(
        label="Workbook (.xlsx)",
        allow_empty_file=True,  # an empty file is refused by the service, with its reason
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )


def _bar_colour(job: ImportJob) -> str:
    if job.status == ImportJobStatus.FAILED:
        return "#ba2121"
    return "#d8a200" if job.failed else "#4a9b3b"


def _live(job: ImportJob, field: str, text: str) -> str:
    """A value the page's script refreshes from the progress endpoint while the job runs."""
    return format_html('<span data-job="{}" data-job-field="{}">{}</span>', job.pk, field, text)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["filename", *LIVE_COLUMNS, "created_at"]
    list_filter = ["status", "error_code"]
    search_fields = ["id", "filename", "sha256"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]
    inlines = [ImportRowErrorInline]
    readonly_fields = [
        "id",
        "filename",
        "uploaded_by",
        "live_status",
        "progress_bar",
        "live_total",
        "live_processed",
        "live_failed",
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

    class Media:
        js = ["ingestion/admin/import_progress.js"]
        css = {"all": ["ingestion/admin/import_progress.css"]}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        progress = path(
            "progress/", self.admin_site.admin_view(self.progress_view), name="{}_{}_progress".format(*info)
        )
        return [progress, *super().get_urls()]

    def has_add_permission(self, request):
        # Same rule as `POST /api/files/upload`: admins and supervisors.
        return getattr(request.user, "role", None) in STAFF_ROLES

    def has_change_permission(self, request, obj=None):
        return False

    # --- live columns -------------------------------------------------------------------
    def _text(self, job: ImportJob, field: str) -> str:
        return _live(job, field, import_job_progress(job)["text"][field])

    @admin.display(description="Status", ordering="status")
    def live_status(self, job):
        return self._text(job, "status")

    @admin.display(description="Progress")
    def progress_bar(self, job):
        figures = import_job_progress(job)
        return format_html(
            '<div class="import-progress" data-job="{}" data-job-field="bar" data-finished="{}" '
            'data-progress-url="{}" title="{}%"><div class="import-bar"><div class="import-bar-fill" '
            'style="width:{}%;background:{}"></div></div><span class="import-pct">{}</span></div>',
            job.pk,
            int(figures["finished"]),
            reverse("admin:ingestion_importjob_progress"),
            job.progress,
            int(job.progress),
            _bar_colour(job),
            figures["text"]["progress"],
        )

    @admin.display(description="Total", ordering="total")
    def live_total(self, job):
        return self._text(job, "total")

    @admin.display(description="Processed", ordering="processed")
    def live_processed(self, job):
        return self._text(job, "processed")

    @admin.display(description="Failed", ordering="failed")
    def live_failed(self, job):
        return self._text(job, "failed")

    @admin.display(description="Duration")
    def duration(self, job):
        return self._text(job, "duration")

    @admin.display(description="Rows/s")
    def rows_per_second(self, job):
        return self._text(job, "rows_per_second")

    # --- the JSON the pages poll ----------------------------------------------------------
    def progress_view(self, request):
        """`?ids=<uuid>,<uuid>…` → the live figures of those jobs (staff with view permission)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            ids = [parse_uuid(value, "ids") for value in request.GET.get("ids", "").split(",") if value]
        except AppError as error:
            return JsonResponse({"message": error.message, "code": error.code, "details": error.details}, status=400)
        jobs = ImportJob.objects.filter(pk__in=ids[:PROGRESS_IDS_MAX])
        figures = []
        for job in jobs:
            figures.append({**import_job_progress(job), "barColour": _bar_colour(job)})
        return JsonResponse({"jobs": figures})

    # --- the upload page ------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        """Upload a workbook: the same service as `POST /api/files/upload`; lands on the job's
        page, where its progress runs live."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WorkbookUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.import_job_create(file=upload, filename=upload.name, uploaded_by=request.user)
            except AppError as error:
                form.add_error("file", f"{error.message} [{error.code}]")
            else:
                messages.success(request, f"«{job.filename}» uploaded: the workers are importing it.")
                return HttpResponseRedirect(reverse("admin:ingestion_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a workbook",
            "opts": self.opts,
            "form": form,
            "max_upload_mb": settings.INGESTION_MAX_UPLOAD_MB,
        }
        return TemplateResponse(request, "admin/ingestion/importjob/upload.html", context)


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
