"""The one form of an email address: what is stored, looked up and rate-limited by.

Two spellings that Unicode treats as the same text must be the same account and the same
login-limit budget. A lower()-ed key with a case-insensitive database lookup disagreed:
"agent3@tech" + U+017F LATIN SMALL LETTER LONG S + "upport.pro" matched agent3 through
PostgreSQL's UPPER() but had a rate-limit budget of its own. Every path now stores and compares
`email_normalize(value)` with plain equality, so the database's unique constraint is the
uniqueness rule.
"""

import unicodedata


def email_normalize(value: str) -> str:
    """NFKC, case-folded, format characters (soft hyphen, zero-width space, BOM, bidi marks)
    removed, NFKC again, surrounding whitespace stripped — close to Unicode's NFKC_Casefold.
    Idempotent: normalising a normalised address changes nothing."""
    folded = unicodedata.normalize("NFKC", value or "").casefold()
    visible = "".join(char for char in folded if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", visible).strip()
