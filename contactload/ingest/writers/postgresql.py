"""PostgreSQL writer: COPY FROM STDIN through psycopg 3."""

from collections.abc import Sequence


def insert(connection, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
