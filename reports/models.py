from django.db import models
from django.utils import timezone


class Dashboard(models.Model):
    """No table: the admin entry of the supervisors' reports dashboard, and the holder of its
    permission `reports.view_dashboard` (given to the Supervisors group; admins have all)."""

    class Meta:
        managed = False
        db_table = "reports_dashboard_unused"
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the reports dashboard")]
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"

    def __str__(self):
        return "Reports dashboard"


class TicketLogProjection(models.Model):
    """Outbox row: "project this ticket's current state into `ticket_logs`".

    Inserted in the transaction that resolved, closed or escalated the ticket, so the side
    effect cannot be lost between the commit and the enqueue; delivered by
    `reports.tasks.ticket_log_project_task`, re-driven by `ticket_log_redrive_task`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retries exhausted; re-driven later)"

    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Last attempt or re-drive: the re-drive waits REDRIVE_AFTER from here.
    updated_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The re-drive scans undelivered rows only; delivered ones are the vast majority.
            models.Index(
                fields=["updated_at"],
                condition=~models.Q(status="delivered"),
                name="ticketlogproj_undelivered_idx",
            )
        ]

    def __str__(self):
        return f"ticket {self.ticket_id}: {self.status}"
