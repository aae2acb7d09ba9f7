"""Ids and offsets in text are ASCII digits only (review of issue 7, finding 10): Python's int()
reads "１２３" (full-width), "١٢٣" (Arabic-Indic), " 12 " and "1_2", so one record had many
names; they are refused (a path: not found; a body or query: invalid, 422)."""
import pytest
from marshmallow import Schema, ValidationError

from shared.errors import NotFound
from shared.fields import Offset, RecordId, record_id

NOT_ASCII = ["１２３", "١٢٣", "१२३", " 12", "12 ", "1_2", "+12", "１"]


class Query(Schema):
    incident_id = RecordId()
    offset = Offset()


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_path_id_that_is_not_ascii_digits_names_no_record(text):
    with pytest.raises(NotFound):
        record_id(text, NotFound("no such incident"))


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_query_or_body_id_that_is_not_ascii_digits_is_invalid(text):
    with pytest.raises(ValidationError) as refused:
        Query().load({"incident_id": text})
    assert "incident_id" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        Query().load({"offset": text})
    assert "offset" in refused.value.messages


def test_plain_ids_still_work():
    assert record_id("123", NotFound("x")) == 123 and record_id(7, NotFound("x")) == 7
    assert Query().load({"incident_id": "123", "offset": "0"}) == {"incident_id": 123,
                                                                  "offset": 0}
    assert Query().load({"incident_id": 5}) == {"incident_id": 5, "offset": 0}
