from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from tickets.models import Notification


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("yes", "Read"), ("no", "Unread")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class DeliveryFilter(admin.SimpleListFilter):
    """Rows with a channel still pending or failed: what an operator looks at when the SMTP
    server or the webhook was down."""

    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [("pending", "Pending"), ("failed", "Failed")]

    def queryset(self, request, queryset):
        if self.value() in ("pending", "failed"):
            return queryset.filter(Q(email_status=self.value()) | Q(webhook_status=self.value()))
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the SLA sweep and delivered by the outbox tasks."""

    list_display = [
        "created_at",
        "kind",
        "recipient",
        "ticket_link",
        "read_at",
        "email_status",
        "webhook_status",
        "attempts",
    ]
    list_filter = [
        "kind",
        ReadFilter,
        DeliveryFilter,
        "email_status",
        "webhook_status",
        ("created_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["recipient", "ticket"]
    search_fields = ["recipient__email", "ticket__title", "message"]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    fields = [
        "id",
        "kind",
        "recipient",
        "ticket",
        "message",
        "data",
        "created_at",
        "read_at",
        "email_status",
        "webhook_status",
        "attempts",
        "last_error",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="ticket", ordering="ticket__created_at")
    def ticket_link(self, notification):
        url = reverse("admin:tickets_ticket_change", args=[notification.ticket_id])
        return format_html('<a href="{}">{}</a>', url, notification.ticket.title)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
