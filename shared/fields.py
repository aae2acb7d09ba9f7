"""Numbers every service's API shares, bounded by what the databases store.

Record ids are PostgreSQL INTEGER columns (and SQLite refuses anything past 2**63 - 1): a number
outside that range cannot name a record, so it is refused as invalid input (in a body or a
query) or answered "not found" (in a path), never passed to the database to overflow there."""
import re

from marshmallow import fields, validate

from shared.errors import LisaError

MAX_ID = 2**31 - 1
ID_RANGE = validate.Range(min=1, max=MAX_ID)
OFFSET_RANGE = validate.Range(min=0, max=MAX_ID)
# Python's int() also reads "１２３" (full-width), "١٢٣" (Arabic-Indic), " 12 " and "1_000":
# one record would have many names. A number in text is ASCII digits only.
ASCII_DIGITS = re.compile(r"[0-9]+")


class AsciiInteger(fields.Integer):
    """marshmallow's Integer, refusing text that is not plain ASCII digits."""

    def _validated(self, value):
        if isinstance(value, str) and not ASCII_DIGITS.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def RecordId(**kwargs) -> fields.Integer:  # noqa: N802  (a field type, named like one)
    """An id in a body or query: 1 .. MAX_ID."""
    return AsciiInteger(validate=ID_RANGE, **kwargs)


def Offset() -> fields.Integer:  # noqa: N802
    """Paging offset: 0 .. MAX_ID."""
    return AsciiInteger(load_default=0, validate=OFFSET_RANGE)


def record_id(value, missing: LisaError) -> int:
    """The id named in a path or an RPC argument, or `missing` raised when no record can have it
    (not a whole number, or out of range). The caller learns the same as for an absent record."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise missing
    if isinstance(value, str) and not ASCII_DIGITS.fullmatch(value):
        raise missing
    try:
        number = int(value)
    except ValueError:
        raise missing from None
    if not 1 <= number <= MAX_ID:
        raise missing
    return number
