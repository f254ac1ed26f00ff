from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin, IsAdminOrSupervisor
from ingestion import error_export, selectors, services
from ingestion.serializers import (
    DeadLetterOutput,
    DeadLetterRetryOutput,
    ErrorExportFilter,
    QueueStatsOutput,
    UploadInput,
    UploadOutput,
)
from ingestion.status import ImportJobStatusOutput
from ingestion.upload_handler import storage_directory, upload_received
from techsupport.error_codes import ErrorCode
from techsupport.exceptions import NotFound, ServiceUnavailable
from techsupport.negotiation import ExportFormatNegotiation
from techsupport.pagination import StandardPagination
from techsupport.validation import parse_uuid


def _job_or_404(process_id: str):
    job = selectors.import_job_get(parse_uuid(process_id, "processId"))
    if job is None:
        raise NotFound("The import process does not exist.", code=ErrorCode.PROCESS_NOT_FOUND)
    return job


class FileUploadView(APIView):
    permission_classes = [IsAdminOrSupervisor]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("UploadForm", {"file": serializers.FileField()})},
        responses={202: UploadOutput},
    )
    def post(self, request):
        directory = storage_directory()
        if directory is None:  # a remote storage: Django's parser, the service hashes
            return self._accepted(request, request.data)
        with upload_received(request, directory) as fields:  # streamed into storage, hashed
            return self._accepted(request, fields)

    @staticmethod
    def _accepted(request, fields) -> Response:
        data = UploadInput(data=fields)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        job = services.import_job_create(file=upload, filename=upload.name, uploaded_by=request.user)
        return Response(UploadOutput(job).data, status=status.HTTP_202_ACCEPTED)


class FileStatusView(APIView):
    permission_classes = [IsAdminOrSupervisor]

    @extend_schema(responses={200: ImportJobStatusOutput})
    def get(self, request, process_id):
        return Response(ImportJobStatusOutput(_job_or_404(process_id)).data)


class FileErrorsView(APIView):
    permission_classes = [IsAdminOrSupervisor]
    content_negotiation_class = ExportFormatNegotiation

    @extend_schema(parameters=[ErrorExportFilter], responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request, process_id):
        filters = ErrorExportFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        job = _job_or_404(process_id)
        errors = selectors.import_row_errors(job)
        if filters.validated_data["format"] == "xlsx":
            return error_export.errors_xlsx_response(job, errors)
        return error_export.errors_csv_response(job, errors)


class FileListView(APIView):
    permission_classes = [IsAdminOrSupervisor]

    @extend_schema(responses={200: ImportJobStatusOutput(many=True)})
    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.import_job_list(), request, self)
        return paginator.get_paginated_response(ImportJobStatusOutput(page, many=True).data)


class QueueStatsView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: QueueStatsOutput})
    def get(self, request):
        try:
            stats = selectors.queue_stats()
        except (RedisError, BrokerOperationalError, OSError) as exc:
            raise ServiceUnavailable("The task broker does not answer.", details={"service": "redis"}) from exc
        return Response(QueueStatsOutput(stats).data)


class DeadLetterListView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses={200: DeadLetterOutput(many=True)})
    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.dead_letter_list(), request, self)
        return paginator.get_paginated_response(DeadLetterOutput(page, many=True).data)


class DeadLetterRetryView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=None,
        responses={202: DeadLetterRetryOutput},
        parameters=[OpenApiParameter("dead_letter_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
    )
    def post(self, request, dead_letter_id):
        letter = selectors.dead_letter_get(parse_uuid(dead_letter_id, "id"))
        if letter is None:
            raise NotFound("The dead letter does not exist.", code=ErrorCode.DEAD_LETTER_NOT_FOUND)
        letter = services.dead_letter_retry(dead_letter=letter)
        return Response(DeadLetterRetryOutput(letter).data, status=status.HTTP_202_ACCEPTED)
