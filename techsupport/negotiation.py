"""Content negotiation for views whose `?format=` is their own export parameter (csv, xlsx),
validated by the view's input serializer — not DRF's renderer override, which would 404 on a
format it has no renderer for. The view answers JSON unless it builds the export itself."""

from rest_framework.negotiation import DefaultContentNegotiation


class ExportFormatNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
