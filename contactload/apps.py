from django.apps import AppConfig


class ContactloadConfig(AppConfig):
    name = "contactload"
    verbose_name = "contactload"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from contactload import checks  # noqa: F401 - registers them
        from contactload.sessions import last_login_ahead_of_jobs

        # (in place of django.contrib.auth's own receiver, connected by its ready())
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(last_login_ahead_of_jobs, dispatch_uid="update_last_login")
