"""The usual Django implementations, run in their own process against the bench
database: ``python -m bench.orm_paths bulk_create|per_row ROWS_FILE LIMIT``.

``bulk_create``: model instances built from the rows and
``Contact.objects.bulk_create(objs, batch_size=1000)`` (one transaction; fed in
slices of 100,000 inside one ``atomic`` so memory stays bounded). ``per_row``:
``Contact.objects.create`` per row, each in its own autocommit. Prints one JSON
line: {"rows": n, "seconds": s}; loading the rows is not timed."""

import json
import pickle
import sys
import time

SLICE = 100_000


def main(kind: str, rows_file: str, limit: int) -> None:
    import django

    django.setup()
    import orjson
    from django.db import models, transaction

    from contactload.models import Contact

    with open(rows_file, "rb") as source:
        columns, rows = pickle.load(source)
    if limit:
        rows = rows[:limit]
    json_columns = {
        field.attname for field in Contact._meta.fields if isinstance(field, models.JSONField)
    }
    decode = [orjson.loads if name in json_columns else None for name in columns]
    rows = [
        tuple(value if f is None else f(value) for f, value in zip(decode, row, strict=True))
        for row in rows
    ]
    started = time.perf_counter()
    if kind == "bulk_create":
        with transaction.atomic():
            for start in range(0, len(rows), SLICE):
                objs = [
                    Contact(**dict(zip(columns, row, strict=True)))
                    for row in rows[start : start + SLICE]
                ]
                Contact.objects.bulk_create(objs, batch_size=1000)
    elif kind == "per_row":
        for row in rows:
            Contact.objects.create(**dict(zip(columns, row, strict=True)))
    else:
        raise SystemExit(f"unknown path {kind}")
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": len(rows), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
