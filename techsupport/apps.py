from django.apps import AppConfig


class TechsupportConfig(AppConfig):
    name = "techsupport"
    verbose_name = "TechSupport Pro core"
