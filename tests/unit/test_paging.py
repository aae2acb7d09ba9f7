"""One paging helper for every list (shared/paging.py), on both backends."""
import pytest
from marshmallow import ValidationError, fields
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database
from shared.fields import MAX_ID
from shared.paging import PageQuerySchema, fetch_page, page_schema


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    colour: Mapped[str] = mapped_column(String(10))


class ThingQuery(PageQuerySchema):
    colour = fields.String()


@pytest.fixture
def database(database_url_factory, memory_broker):
    db = Database(Base.metadata, service="things").open(database_url_factory("things"))
    Base.metadata.create_all(db.engine)
    with db.session() as session:
        session.add_all(Thing(colour="red" if n % 3 else "blue") for n in range(1, 11))
        session.commit()
    yield db
    db.relay.close()
    db.engine.dispose()


def test_a_page_counts_the_whole_list_and_slices_it(database):
    query = ThingQuery().load({"colour": "red", "limit": "2", "offset": "1"})
    with database.session() as session:
        page = fetch_page(session, select(Thing).where(Thing.colour == query["colour"])
                          .order_by(Thing.id), query)
        answer = page.answer(lambda thing: {"id": thing.id}, colours=1)
    assert answer == {"items": [{"id": 2}, {"id": 4}], "total": 7, "limit": 2, "offset": 1,
                      "colours": 1}


def test_rows_of_several_entities_come_as_rows(database):
    query = ThingQuery().load({})
    with database.session() as session:
        page = fetch_page(session, select(Thing.id, Thing.colour).order_by(Thing.id), query)
    assert page.items[0] == (1, "red") and page.total == 10 and page.limit == 50


@pytest.mark.parametrize("bad", [{"limit": 0}, {"limit": 501}, {"offset": -1},
                                 {"offset": MAX_ID + 1}, {"limit": "many"}])
def test_limit_and_offset_are_bounded(bad):
    with pytest.raises(ValidationError):
        ThingQuery().load(bad)


def test_blank_filters_are_no_filters():
    assert ThingQuery().load({"colour": ""}) == {"limit": 50, "offset": 0}


def test_the_page_schema_names_itself_and_its_extras():
    schema = page_schema("ThingPageSchema", ThingQuery, colours=fields.Integer(required=True))
    assert schema.__name__ == "ThingPageSchema"
    assert set(schema().fields) == {"items", "total", "limit", "offset", "colours"}
