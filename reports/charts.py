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


def stacked_bar_chart(title: str, groups: dict[str, dict[str, int]], note: str = "") -> Chart:
    """One bar per group (e.g. a week), split by key (e.g. status), coloured per key."""
    largest = max((sum(parts.values()) for parts in groups.values()), default=0)
    bars = []
    for index, (label, parts) in enumerate(groups.items()):
        bar = Bar(label=label, display=str(sum(parts.values())), y=index * (BAR_HEIGHT + BAR_GAP))
        x = float(LABEL_WIDTH)
        for key in sorted(parts, key=_status_key):
            width = _scale(parts[key], largest)
            bar.segments.append(Segment(x, width, STATUS_COLOURS.get(key, DEFAULT_COLOUR), f"{key}: {parts[key]}"))
            x += width
        bars.append(bar)
    keys = sorted({key for parts in groups.values() for key in parts}, key=_status_key)
    legend = [(key, STATUS_COLOURS.get(key, DEFAULT_COLOUR)) for key in keys]
    return Chart(title=title, bars=bars, legend=legend, note=note)
