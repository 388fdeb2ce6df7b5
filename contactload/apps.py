from django.apps import AppConfig


class ContactloadConfig(AppConfig):
    name = "contactload"
    verbose_name = "contactload"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contactload import checks  # noqa: F401 - registers them
