from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"
    verbose_name = "Ingestion"

    def ready(self):
        from ingestion.metrics import state_gauges_register

        state_gauges_register()
