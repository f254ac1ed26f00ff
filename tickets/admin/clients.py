from django.contrib import admin

from tickets.models import Client
from tickets.services import client_create, client_update


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "type", "company", "created_at"]
    list_filter = ["type"]
    search_fields = ["name", "email", "company"]
    ordering = ["name"]
    readonly_fields = ["id", "created_at"]
    fields = ["id", "name", "email", "type", "company", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # clients own tickets and history; nothing is hard-deleted here

    def save_model(self, request, obj, form, change):
        if change:
            client_update(client=obj, **{name: form.cleaned_data[name] for name in form.changed_data})
            return
        created = client_create(name=obj.name, email=obj.email, type=obj.type, company=obj.company)
        obj.pk, obj.created_at, obj.email = created.pk, created.created_at, created.email
        obj._state.adding = False
