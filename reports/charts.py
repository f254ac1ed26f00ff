"""Geometry of the dashboard's bar charts, computed here so the template only draws: inline SVG
rendered on the server, no JavaScript and no CDN."""

from dataclasses import dataclass, field

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 190
PLOT_WIDTH = 420
VALUE_WIDTH = 90
WIDTH = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH

STATUS_COLOURS = {
    "OPEN": "#1e88e5",
    "IN_PROGRESS": "#8e24aa",
    "WAITING_CUSTOMER": "#00897b",
    "ESCALATED": "#e53935",
    "RESOLVED": "#43a047",
    "CLOSED": "#757575",
}
DEFAULT_COLOUR = "#417690"  # the admin's own blue
_STATUS_ORDER = {status: index for index, status in enumerate(STATUS_COLOURS)}


def _status_key(status: str) -> tuple[int, str]:
    return _STATUS_ORDER.get(status, len(_STATUS_ORDER)), status


@dataclass
class Segment:
    x: float
    width: float
    colour: str
    title: str


@dataclass
class Bar:
    label: str
    display: str
    y: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 6

    @property
    def value_x(self) -> float:
        end = max((s.x + s.width for s in self.segments), default=LABEL_WIDTH)
        return end + 6


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (BAR_HEIGHT + BAR_GAP)


def _scale(value: float, largest: float) -> float:
    return 0.0 if largest <= 0 else round(PLOT_WIDTH * value / largest, 1)


def bar_chart(title: str, items: list[tuple[str, float, str]], colour: str = DEFAULT_COLOUR, note: str = "") -> Chart:
    """One bar per (label, value, display text), longest = the largest value."""
    largest = max((value for _, value, _ in items), default=0)
    bars = []
    for index, (label, value, display) in enumerate(items):
        bar = Bar(label=label, display=display, y=index * (BAR_HEIGHT + BAR_GAP))
        bar.segments.append(Segment(LABEL_WIDTH, _scale(value, largest), colour, f"{label}: {display}"))
        bars.append(bar)
    return Chart(title=title, bars=bars, note=note)


COLUMN_PLOT_HEIGHT = 170
COLUMN_TOP = 8
COLUMN_AXIS_HEIGHT = 22
# The column chart spans the dashboard's width (its panel takes a whole row).
COLUMN_CHART_WIDTH = 1300
TICK_SPACING = 64
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass
class Column:
    label: str
    x: float
    width: float
    title: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # (y, height, colour)


@dataclass
class ColumnChart:
    """Stacked columns, one per week, in a fixed width: two years of weeks stay one compact
    chart; a month label marks the first week of each month."""

    title: str
    columns: list[Column]
    ticks: list[tuple[float, str]]
    largest: int
    legend: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    width: int = COLUMN_CHART_WIDTH
    height: int = COLUMN_TOP + COLUMN_PLOT_HEIGHT + COLUMN_AXIS_HEIGHT
    baseline: int = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    plot_left: int = 40

    @property
    def bars(self) -> list[Column]:  # "has data", as for the bar charts
        return self.columns


def _month_ticks(weeks: list[str], x_of) -> list[tuple[float, str]]:
    """A label under the first week of a month, none closer than TICK_SPACING to the previous
    one, with the year where it changes."""
    ticks: list[tuple[float, str]] = []
    last_month, shown_year = None, None
    for index, week in enumerate(weeks):
        year, month = int(week[:4]), int(week[5:7])
        if (year, month) == last_month:
            continue
        last_month = (year, month)
        x = x_of(index)
        if ticks and x - ticks[-1][0] < TICK_SPACING:
            continue
        ticks.append((x, MONTH_NAMES[month - 1] + (f" {year}" if year != shown_year else "")))
        shown_year = year
    return ticks


def stacked_column_chart(title: str, groups: dict[str, dict[str, int]], note: str = "") -> ColumnChart:
    """One column per group (a week), split by key (a status), coloured per key."""
    labels = list(groups)
    largest = max((sum(parts.values()) for parts in groups.values()), default=0)
    plot_left, plot_width = 40, COLUMN_CHART_WIDTH - 40 - 10
    step = plot_width / max(len(labels), 1)

    def x_of(index: int) -> float:
        return round(plot_left + index * step, 1)

    columns = []
    for index, (label, parts) in enumerate(groups.items()):
        total = sum(parts.values())
        summary = ", ".join(f"{key} {parts[key]}" for key in sorted(parts, key=_status_key)) or "none"
        column = Column(
            label=label,
            x=x_of(index),
            width=round(max(step * 0.8, 1.0), 1),
            title=f"week of {label}: {total} ({summary})",
        )
        bottom = float(COLUMN_TOP + COLUMN_PLOT_HEIGHT)
        for key in sorted(parts, key=_status_key):
            height = 0.0 if largest <= 0 else round(COLUMN_PLOT_HEIGHT * parts[key] / largest, 1)
            bottom -= height
            column.segments.append((round(bottom, 1), height, STATUS_COLOURS.get(key, DEFAULT_COLOUR)))
        columns.append(column)
    keys = sorted({key for parts in groups.values() for key in parts}, key=_status_key)
    legend = [(key, STATUS_COLOURS.get(key, DEFAULT_COLOUR)) for key in keys]
    return ColumnChart(
        title=title, columns=columns, ticks=_month_ticks(labels, x_of), largest=largest, legend=legend, note=note
    )
