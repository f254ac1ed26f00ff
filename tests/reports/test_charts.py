from datetime import date, timedelta

from reports.charts import COLUMN_PLOT_HEIGHT, COLUMN_TOP, stacked_column_chart


def test_columns_stack_statuses_up_from_the_baseline_scaled_to_the_busiest_week():
    chart = stacked_column_chart(
        "weeks", {"2025-12-29": {"CLOSED": 2, "OPEN": 2}, "2026-01-05": {}, "2026-01-12": {"OPEN": 1}}
    )

    baseline = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    first, empty, last = chart.columns
    # OPEN first (at the bottom), then CLOSED on top; the busiest week fills the plot.
    assert [(y, h) for y, h, _ in first.segments] == [(baseline - 85.0, 85.0), (baseline - 170.0, 85.0)]
    assert empty.segments == [] and empty.title == "week of 2026-01-05: 0 (none)"
    assert [(y, h) for y, h, _ in last.segments] == [(baseline - 42.5, 42.5)]
    assert first.x < empty.x < last.x
    assert [text for _, text in chart.ticks] == ["Dec 2025", "Jan 2026"]
    assert chart.legend == [("OPEN", "#1e88e5"), ("CLOSED", "#757575")]


def test_two_years_of_weeks_get_at_most_a_dozen_month_labels():
    weeks = {(date(2025, 1, 6) + timedelta(weeks=n)).isoformat(): {"OPEN": 1} for n in range(104)}

    chart = stacked_column_chart("weeks", weeks)

    assert len(chart.columns) == 104
    assert 6 <= len(chart.ticks) <= 12
    assert chart.ticks[0][1] == "Jan 2025" and any(text.endswith("2026") for _, text in chart.ticks)
