from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from techsupport.exceptions import AppError
from techsupport.validation import parse_instant
from tickets.sweep import sla_sweep


class Command(BaseCommand):
    help = (
        "Runs one SLA sweep now (the same service the periodic task runs) and prints what it did. "
        "--now evaluates as of another instant (replays, drills); --dry-run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO-8601 instant to evaluate as of (default: now)")
        parser.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
        parser.add_argument("--batch-size", type=int, default=None, help="tickets per transaction")

    def handle(self, *args, now=None, dry_run=False, batch_size=None, **options):
        try:
            instant = parse_instant(now, "--now") if now else timezone.now()
        except AppError as exc:
            raise CommandError(f"--now must be an ISO-8601 date or date-time, got {now!r}.") from exc
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = sla_sweep(now=instant, batch_size=batch_size, dry_run=dry_run)
        levels = ", ".join(f"level {level}: {count}" for level, count in sorted(result.escalations.items()))
        mode = " (dry run: nothing changed)" if dry_run else ""
        self.stdout.write(f"SLA sweep as of {instant.isoformat().replace('+00:00', 'Z')}{mode}")
        self.stdout.write(f"  tickets touched:   {result.touched}")
        self.stdout.write(f"  warnings:          {result.warnings}")
        self.stdout.write(f"  breaches recorded: {result.breaches}")
        self.stdout.write(f"  breaches notified: {result.breach_notices}")
        self.stdout.write(f"  escalations:       {result.escalated}" + (f" ({levels})" if levels else ""))
        if result.auto_assigned:
            self.stdout.write(f"  auto-assigned:     {result.auto_assigned}")
        self.stdout.write(f"  notifications:     {result.notifications}")
        self.stdout.write(f"  duration:          {result.duration_s:.3f} s")
