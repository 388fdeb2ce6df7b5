from django.apps import AppConfig


class ContactloadConfig(AppConfig):
    name = "contactload"
    verbose_name = "contactload"
    default_auto_field = "django.db.models.BigAutoField"
