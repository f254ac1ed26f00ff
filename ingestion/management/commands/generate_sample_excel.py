import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion.sample_workbook import write_sample_workbook


class Command(BaseCommand):
    help = "Writes a seeded sample workbook of ticket logs (the seed's Spanish column names)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True, help="Number of data rows.")
        parser.add_argument("--output", required=True, help="Path of the .xlsx file to write.")
        parser.add_argument("--invalid-ratio", type=float, default=0.0, help="Share of rows spoiled on purpose (0..1).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed: the same seed writes the same file.")

    def handle(self, *args, rows, output, invalid_ratio, seed, **options):
        if rows < 0:
            raise CommandError("--rows must be ≥ 0.")
        if not 0 <= invalid_ratio <= 1:
            raise CommandError("--invalid-ratio must be between 0 and 1.")
        show = options["verbosity"] > 0
        with tqdm(total=rows, unit="row", disable=not show, file=sys.stderr, mininterval=0.5) as bar:
            stats = write_sample_workbook(
                output, rows=rows, invalid_ratio=invalid_ratio, seed=seed, on_row=bar.update if show else None
            )
        self.stdout.write(self.style.SUCCESS(f"Wrote {stats.rows} rows ({stats.invalid} invalid) to {output}."))
