from django.urls import path

from ingestion import views

urlpatterns = [
    path("files", views.FileListView.as_view(), name="file-list"),
    path("files/upload", views.FileUploadView.as_view(), name="file-upload"),
    path("files/status/<str:process_id>", views.FileStatusView.as_view(), name="file-status"),
    path("files/<str:process_id>/errors", views.FileErrorsView.as_view(), name="file-errors"),
    path("queue/stats", views.QueueStatsView.as_view(), name="queue-stats"),
    path("queue/dlq", views.DeadLetterListView.as_view(), name="dead-letter-list"),
    path("queue/dlq/<str:dead_letter_id>/retry", views.DeadLetterRetryView.as_view(), name="dead-letter-retry"),
]
