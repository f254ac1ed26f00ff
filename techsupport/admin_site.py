"""The back-office's admin site: Django's, ordered for the people who live in it.

Supervisors see their work first — tickets, reports, imports, users — and never the plumbing
(periodic tasks, token blacklist, groups); admins find the plumbing at the bottom. There is no
public site beside the admin, so "View site" is gone and `/` redirects here (config/urls.py).
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# App labels in the order of the index, and each app's models in the order of its box.
WORK = ["tickets", "reports", "ingestion", "accounts"]
MODELS = {
    "tickets": ["ticket", "client", "slapolicy", "businesscalendar", "notification", "ticketevent"],
    "ingestion": ["importjob", "deadletter", "importrowerror"],
}
# Admins only (superusers), below the work.
PLUMBING = ["django_celery_beat", "token_blacklist", "auth"]


def _rank(order: list[str], key: str) -> tuple[int, str]:
    return (order.index(key) if key in order else len(order), key)


class BackOfficeSite(admin.AdminSite):
    site_header = "TechSupport Pro back-office"
    site_title = "TechSupport Pro"
    index_title = "Support desk"
    site_url = None
    # The app sidebar on every page took ~300 px from the lists: at 1400 px the ticket list
    # overflowed and hid its SLA column. Breadcrumbs and the index do the navigation.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if not request.user.is_superuser:
            apps = [app for app in apps if app["app_label"] not in PLUMBING]
        for app in apps:
            order = MODELS.get(app["app_label"], [])
            app["models"].sort(key=lambda model: _rank(order, model["object_name"].lower()))
        return sorted(apps, key=lambda app: _rank(WORK + PLUMBING, app["app_label"]))


class BackOfficeAdminConfig(AdminConfig):
    default_site = "techsupport.admin_site.BackOfficeSite"
