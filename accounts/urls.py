from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("users", views.UserListView.as_view(), name="user-list"),
    path("users/<str:user_id>", views.UserDetailView.as_view(), name="user-detail"),
]
