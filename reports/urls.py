from django.urls import path

from reports import views

urlpatterns = [
    *(path(f"reports/{name}", view.as_view(), name=f"report-{name}") for name, view in views.REPORT_VIEWS.items()),
    path("reports/<str:name>", views.UnknownReportView.as_view(), name="report-unknown"),
]
