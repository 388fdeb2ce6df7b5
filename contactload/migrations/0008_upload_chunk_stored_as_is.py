"""PostgreSQL stores a chunk's data as it is sent: it is an LZ4 frame already, and
the server's own compression (pglz) only spent time on it (about half of storing an
accepted request's chunks: 140 -> 65 ms for 100,000 rows). SQLite has no such setting."""

from django.db import migrations

TABLE = '"contactload_uploadchunk"'


def storage(kind: str):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'ALTER TABLE {TABLE} ALTER COLUMN "data" SET STORAGE {kind}')

    return alter


class Migration(migrations.Migration):
    dependencies = [
        ("contactload", "0007_worker_beats"),
    ]

    operations = [
        migrations.RunPython(storage("EXTERNAL"), storage("EXTENDED")),
    ]
