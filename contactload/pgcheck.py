"""Exit 0 when the PostgreSQL server named by the URL argument answers, else 1.

Used by ``make test`` to decide whether the PostgreSQL run can happen."""

import sys

import psycopg


def main() -> int:
    try:
        with psycopg.connect(sys.argv[1], connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"pgcheck: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
