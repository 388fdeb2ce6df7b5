"""WSGI entry point (gunicorn contactload.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactload.settings")
application = get_wsgi_application()


def warm_up() -> None:
    """Load at boot what a process would load on its first request: the URLconf with
    the views and all they import, and the models' field maps (each gunicorn worker's
    first request took a quarter of a second longer than the next); then leave what
    boot made out of the garbage collector's passes (a full one went through it all,
    45 ms, in some early request)."""
    from django.apps import apps
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loaded on first access
    for model in apps.get_models():
        for field in model._meta.get_fields():
            model._meta.get_field(field.name)
    gc.collect()
    gc.freeze()


warm_up()
