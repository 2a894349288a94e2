from django.urls import path

from forms import views

urlpatterns = [
    path("form/generate.js", views.generate_js, name="form-generate-js"),
    path("form/submit", views.submit, name="form-submit"),
    path("form/messenger.js", views.messenger_js, name="form-messenger-js"),
    path("form/embed/<str:form_id>", views.embed, name="form-embed"),
    path("form/<str:form_id>", views.page, name="form-page"),
    # Where Mautic's manual-copy snippet loads its form script from.
    path("media/js/mautic-form.js", views.mautic_form_js, name="mautic-form-js"),
]
