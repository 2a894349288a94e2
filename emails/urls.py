from django.urls import path

from emails import views

urlpatterns = [
    path("email/<str:token>.gif", views.open_pixel, name="email-open"),
    path("r/<str:redirect_id>", views.click, name="email-click"),
    path("email/unsubscribe/<str:token>", views.unsubscribe, name="email-unsubscribe"),
    path("email/resubscribe/<str:token>", views.resubscribe, name="email-resubscribe"),
    path("email/view/<str:token>", views.webview, name="email-view"),
    path("email/confirm/<str:token>", views.confirm, name="email-confirm"),
    path("email/preferences/<str:token>", views.preferences, name="email-preferences"),
    path("email/webhook/bounce", views.bounce_webhook, name="email-bounce-webhook"),
]
