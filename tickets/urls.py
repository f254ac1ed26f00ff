from django.urls import path

from tickets import views

urlpatterns = [
    path("clients", views.ClientListView.as_view(), name="client-list"),
    path("clients/<str:client_id>", views.ClientDetailView.as_view(), name="client-detail"),
    path("tickets", views.TicketListView.as_view(), name="ticket-list"),
    path("tickets/<str:ticket_id>", views.TicketDetailView.as_view(), name="ticket-detail"),
    path("tickets/<str:ticket_id>/events", views.TicketEventListView.as_view(), name="ticket-events"),
    path("tickets/<str:ticket_id>/status", views.TicketStatusView.as_view(), name="ticket-status"),
    path("tickets/<str:ticket_id>/assign", views.TicketAssignView.as_view(), name="ticket-assign"),
    path("notifications", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/<str:notification_id>/read", views.NotificationReadView.as_view(), name="notification-read"),
]
