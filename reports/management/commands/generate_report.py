from django.core.management.base import BaseCommand, CommandError
from pymongo.errors import PyMongoError

from reports import selectors
from reports.exports import rows_to_csv, rows_to_json, rows_to_table, rows_to_xlsx
from reports.serializers import ReportQueryInput
from techsupport.exceptions import AppError

FORMATS = ("table", "csv", "json", "xlsx")


class Command(BaseCommand):
    help = "Prints or writes one report (the same rows as GET /api/reports/<name>)."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=list(selectors.REPORTS))
        parser.add_argument("--from", dest="from_", metavar="DATE", help="inclusive, ISO-8601 date or date-time")
        parser.add_argument("--to", metavar="DATE", help="inclusive, ISO-8601 date or date-time")
        parser.add_argument("--client-type", choices=["VIP", "NORMAL"])
        parser.add_argument("--limit", type=int, help="top-agents: how many agents (1..100, default 5)")
        parser.add_argument("--format", choices=FORMATS, default="table")
        parser.add_argument("--output", metavar="FILE", help="write to FILE instead of the terminal (xlsx needs it)")

    def handle(self, *args, name, from_, to, client_type, limit, format, output, **options):
        if format == "xlsx" and not output:
            raise CommandError("--format xlsx writes a workbook: give --output FILE.")
        params = {"from": from_, "to": to, "clientType": client_type, "limit": limit}
        query = ReportQueryInput(data={key: value for key, value in params.items() if value is not None})
        try:
            valid = query.is_valid()
        except AppError as exc:  # bad dates or from > to, raised by parse_range
            raise CommandError(f"{exc.message} {exc.details}") from exc
        if not valid:
            raise CommandError(f"Invalid options: {_flat(query.errors)}")
        filters = query.validated_data["filters"]
        report = selectors.REPORTS[name]
        try:
            rows = selectors.report_run(name, filters=filters, limit=query.validated_data["limit"])
        except PyMongoError as exc:  # the API answers 503 service_unavailable for the same
            raise CommandError(
                f"The document store (MONGO_URL) is unavailable: {type(exc).__name__}. Reports read it; "
                "locally, start `make run` or `make docstore` first."
            ) from exc
        if format == "xlsx":
            content: bytes | str = rows_to_xlsx(report.columns, rows, title=name)
        elif format == "csv":
            content = rows_to_csv(report.columns, rows)
        elif format == "json":
            content = rows_to_json(rows)
        else:
            content = (
                f"{report.title}\n\n{rows_to_table(report.columns, rows)}" if rows else f"{report.title}\n\n(no rows)\n"
            )
        if output:
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as handle:
                handle.write(content)
            self.stderr.write(f"{len(rows)} rows written to {output}")
        else:
            self.stdout.write(content, ending="")


def _flat(errors) -> str:
    return "; ".join(f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in errors.items())
