from reports.axes import months_axis, weeks_axis


def test_months_between_show_as_zeros():
    axis, hidden = months_axis({(2025, 12): 3, (2026, 3): 1}, limit=24)

    assert axis == [(2025, 12, 3), (2026, 1, 0), (2026, 2, 0), (2026, 3, 1)]
    assert hidden == 0


def test_a_year_long_gap_is_drawn_month_by_month_up_to_the_limit():
    axis, hidden = months_axis({(2025, 12): 2, (2026, 12): 5}, limit=6)

    assert axis == [(2026, 7, 0), (2026, 8, 0), (2026, 9, 0), (2026, 10, 0), (2026, 11, 0), (2026, 12, 5)]
    assert hidden == 7  # Dec 2025 .. Jun 2026


def test_a_wild_date_does_not_make_a_huge_axis():
    axis, hidden = months_axis({(1900, 1): 1, (2026, 5): 1}, limit=24)

    assert len(axis) == 24 and axis[-1] == (2026, 5, 1)
    assert hidden == (2026 - 1900) * 12 + 4 + 1 - 24


def test_no_data_is_an_empty_axis():
    assert months_axis({}, limit=24) == ([], 0)
    assert weeks_axis({}, limit=12) == ({}, 0)


def test_weeks_between_show_as_empty_and_only_the_latest_are_kept():
    groups = {"2026-01-05": {"OPEN": 2}, "2026-01-26": {"CLOSED": 1}}

    assert weeks_axis(groups, limit=12) == (
        {"2026-01-05": {"OPEN": 2}, "2026-01-12": {}, "2026-01-19": {}, "2026-01-26": {"CLOSED": 1}},
        0,
    )
    assert weeks_axis(groups, limit=2) == ({"2026-01-19": {}, "2026-01-26": {"CLOSED": 1}}, 2)
