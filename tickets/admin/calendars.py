"""Business calendars in the back-office: the week as one line per day ("09:00-13:00,
14:00-18:00"), holidays inline. Validated by the same parser as the model and the service
(tickets/calendars.py), the error shown on the faulty day."""

from django import forms
from django.contrib import admin
from django.db.models import Count

from tickets import calendars
from tickets.models import BusinessCalendar, Holiday

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_LABELS = dict(zip(calendars.DAYS, DAY_NAMES, strict=True))
DAY_HELP = "Local hours, e.g. 09:00-13:00, 14:00-18:00 (00:00 to 24:00, no overlaps). Empty = closed."


class _WeekForm(forms.ModelForm):
    """The stored week (`weekly_hours`, JSON) as seven text fields, one per day."""

    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weekly = self.instance.weekly_hours or {}
        for day in calendars.DAYS:
            self.initial.setdefault(day, ", ".join(f"{start}-{end}" for start, end in weekly.get(day) or []))

    def clean(self):
        cleaned = super().clean()
        weekly = {}
        for day in calendars.DAYS:
            try:
                weekly[day] = calendars.day_text_parse(cleaned.get(day, ""))
            except ValueError as exc:
                self.add_error(day, str(exc))
        if any(day in self.errors for day in calendars.DAYS):
            return cleaned
        try:
            parsed = calendars.weekly_parse(weekly)
        except calendars.CalendarError as exc:
            for key, message in exc.errors.items():
                self.add_error(key if key in calendars.DAYS else None, message)
            return cleaned
        # Stored normalised: sorted, closed days left out.
        self.instance.weekly_hours = {
            day: [[calendars.hhmm(s), calendars.hhmm(e)] for s, e in intervals]
            for day, intervals in zip(calendars.DAYS, parsed, strict=True)
            if intervals
        }
        return cleaned


# Declared fields (the admin builds its form from the fieldsets, which name the days).
BusinessCalendarForm = type(
    "BusinessCalendarForm",
    (_WeekForm,),
    {
        day: forms.CharField(label=DAY_LABELS[day], required=False, help_text=DAY_HELP if day == "mon" else "")
        for day in calendars.DAYS
    },
)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1
    fields = ["date", "name"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    inlines = [HolidayInline]
    list_display = ["name", "time_zone", "open_hours_per_week", "holiday_count", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "time_zone"]}),
        (
            "Working hours",
            {
                "fields": list(calendars.DAYS),
                "description": (
                    "SLA policies that use this calendar count only these hours, outside holidays. A change "
                    "applies to tickets created afterwards (and to the window before an SLA sweep's next "
                    "escalation): existing tickets keep their due times."
                ),
            },
        ),
        (None, {"fields": ["updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(holiday_total=Count("holidays"))

    @admin.display(description="open hours / week")
    def open_hours_per_week(self, obj):
        try:
            weekly = calendars.weekly_parse(obj.weekly_hours)
        except calendars.CalendarError:
            return "-"
        return f"{sum(e - s for day in weekly for s, e in day) / 60:g}"

    @admin.display(description="holidays", ordering="holiday_total")
    def holiday_count(self, obj):
        return obj.holiday_total
