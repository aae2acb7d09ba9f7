"""Paging of every list, one way: the bounded `limit` and `offset` a query accepts, the page an
answer carries (items, total, limit, offset), and the function that counts and slices a query.

    class JobQuerySchema(PageQuerySchema): ...            # filters, plus limit and offset
    JobPageSchema = page_schema("JobPageSchema", JobSchema, open_m2=fields.Float(...))
    page = fetch_page(session, select(Job).where(...).order_by(...), query)
    return page.answer(job_view)
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, post_load, validate
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shared.fields import Offset

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def Limit(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> fields.Integer:  # noqa: N802
    """How many items a page holds: 1 .. `maximum`."""
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum))


class PageQuerySchema(Schema):
    """Base of every list's query: its filters, `limit` and `offset`. A filter given blank is
    no filter."""

    limit = Limit()
    offset = Offset()

    @post_load
    def no_blank_filters(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value not in ("", None)}


def page_schema(name: str, item: type[Schema], **extra: fields.Field) -> type[Schema]:
    """The schema of a page of `item`s (named `name` in the OpenAPI document), with any
    `extra` figure about the whole list."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "total": fields.Integer(required=True, metadata={"description": "Items in the whole "
                                                                        "list."}),
        "limit": fields.Integer(required=True),
        "offset": fields.Integer(required=True),
        **extra,
    }, name=name)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int

    def answer(self, view: Callable[[Any], dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """The page as an answer: each item through `view`."""
        return {"items": [view(item) for item in self.items], "total": self.total,
                "limit": self.limit, "offset": self.offset, **extra}


def fetch_page(session: Session, statement: Select, query: Mapping[str, Any]) -> Page:
    """Count what `statement` selects, then take the page `query` asks for (its `limit` and
    `offset`). A statement of one entity gives the entities, of several the rows."""
    total = session.scalar(select(func.count()).select_from(
        statement.order_by(None).subquery())) or 0
    result = session.execute(statement.limit(query["limit"]).offset(query["offset"]))
    items = list(result.scalars()) if len(statement.column_descriptions) == 1 \
        else list(result.tuples())
    return Page(items, total, query["limit"], query["offset"])
