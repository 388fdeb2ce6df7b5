"""Cells for CSV files people open in a spreadsheet: text as is, null empty, anything
else as JSON, and never a formula (CONTRACT 5.2). Pure, and free of Django, so the
server's exports and the ``push`` client share it."""

import json

# What Excel, LibreOffice and Google Sheets treat as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "'" + text if text.startswith(FORMULA_STARTS) else text
