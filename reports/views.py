from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdminOrSupervisor
from reports import selectors
from reports.exports import export_filename, rows_to_csv
from reports.serializers import ROW_SERIALIZERS, ReportQueryInput
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import NotFound
from techsupport.negotiation import ExportFormatNegotiation
from techsupport.openapi import ErrorSerializer


class ReportView(APIView):
    """GET /api/reports/<name>: `{"data": [...]}`, or a CSV download with `?format=csv`."""

    permission_classes = [IsAdminOrSupervisor]
    content_negotiation_class = ExportFormatNegotiation
    report_name = ""

    def get(self, request):
        query = ReportQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        report = selectors.REPORTS[self.report_name]
        rows = selectors.report_run(report.name, filters=params["filters"], limit=params["limit"])
        if params["format"] == "csv":
            response = HttpResponse(rows_to_csv(report.columns, rows), content_type="text/csv; charset=utf-8")
            filename = export_filename(report.name, params["filters"], "csv")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return Response({"data": rows})


def _report_view(name: str) -> type[ReportView]:
    report = selectors.REPORTS[name]
    envelope = inline_serializer(
        name=f"{ROW_SERIALIZERS[name].__name__}Report", fields={"data": ROW_SERIALIZERS[name](many=True)}
    )

    # A function of its own per report: extend_schema annotates the function object it wraps.
    def get(self, request):
        return ReportView.get(self, request)

    schema = extend_schema(
        operation_id=f"reports_{name.replace('-', '_')}",
        summary=report.title,
        tags=["reports"],
        parameters=[ReportQueryInput],
        responses={
            (200, "application/json"): OpenApiResponse(envelope, description="JSON rows."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With `format=csv`: a CSV attachment."),
            400: OpenApiResponse(ErrorSerializer, description="Invalid filter (`validation_error`)."),
        },
    )
    return type(f"Report_{name.replace('-', '_')}", (ReportView,), {"report_name": name, "get": schema(get)})


REPORT_VIEWS = {name: _report_view(name) for name in selectors.REPORTS}


class UnknownReportView(APIView):
    permission_classes = [IsAdminOrSupervisor]

    @extend_schema(exclude=True)
    def get(self, request, name):
        raise NotFound(
            f"There is no report named '{name}'.",
            code=ErrorCode.REPORT_NOT_FOUND,
            details={"reports": list(selectors.REPORTS)},
        )
