"""The indicator catalogue: data, not code (docs/adr/0022-indicators-catalogue-and-event-store.md).

Every `*.yaml` file in reference/catalogue/ holds `version:` and `indicators:` (the format is
shared with the prevention engineer's file). Each entry is validated here (marshmallow); a
broken catalogue stops the service at start rather than publishing wrong figures.

An indicator's measure is made of *leaves*: the projections the service keeps. count, sum and
distinct are one leaf each; median_duration and share_within one leaf of spans (start and end
joined by a key); a ratio two leaves (its numerator and denominator), both grouped by the
indicator's dimensions. Pure: no framework, no I/O beyond reading the YAML files.
"""
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

CATALOGUE_DIR = Path(__file__).parent / "reference" / "catalogue"
PHENOMENA_FILE = Path(__file__).parents[1] / "incidents" / "reference" / "pssp_phenomena.yaml"
UNITS = ("count", "hours", "m2", "percent", "days")
PERIODS = ("month", "quarter", "year")
LEAF_KINDS = ("count", "sum", "distinct")
SPAN_KINDS = ("median_duration", "share_within")
KINDS = LEAF_KINDS + SPAN_KINDS + ("ratio",)
MAX_DIMENSIONS = 6            # the projections keep six dimension columns
RESERVED_DIMENSIONS = ("antenna", "period")   # from the envelope, always available
EVENT = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ValueError):
    """The catalogue files do not hold a valid catalogue."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class Texts(_Strict):
    fr = fields.String(required=True, validate=validate.Length(min=1))
    nl = fields.String(required=True, validate=validate.Length(min=1))
    en = fields.String(required=True, validate=validate.Length(min=1))


def _scalar(value: object) -> None:
    # marshmallow 4 ignores a validator's return value: it must raise
    if not (value is None or isinstance(value, str | int | float | bool)):
        raise ValidationError("A where value is a string, a number, true/false or null.")


Scalar = fields.Raw(validate=_scalar)


class Where(fields.Dict):
    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(validate=validate.Regexp(FIELD)), values=Scalar,
                         load_default=dict, **kwargs)


class EventRef(_Strict):
    event = fields.String(required=True, validate=validate.Regexp(EVENT))
    where = Where()


class MeasureSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    event = fields.String(validate=validate.Regexp(EVENT))
    field = fields.String(validate=validate.Regexp(FIELD))
    where = Where()
    numerator = fields.Nested(lambda: MeasureSchema())
    denominator = fields.Nested(lambda: MeasureSchema())
    start = fields.Nested(EventRef)
    end = fields.Nested(EventRef)
    key = fields.String(validate=validate.Regexp(FIELD))
    within = fields.Dict(keys=fields.String(validate=validate.OneOf(("hours",))),
                         values=fields.Float(validate=validate.Range(min=0, min_inclusive=False)))
    within_field = fields.String(validate=validate.Regexp(FIELD))

    NEEDS = {"count": {"event"}, "sum": {"event", "field"}, "distinct": {"event", "field"},
             "ratio": {"numerator", "denominator"},
             "median_duration": {"start", "end", "key"},
             "share_within": {"start", "end", "key"}}
    ALLOWED = {"count": {"event", "where"}, "sum": {"event", "field", "where"},
               "distinct": {"event", "field", "where"}, "ratio": {"numerator", "denominator"},
               "median_duration": {"start", "end", "key"},
               "share_within": {"start", "end", "key", "within", "within_field"}}

    @validates_schema
    def _shape(self, data, **kwargs):
        kind = data.get("kind")
        if kind not in self.NEEDS:
            return
        given = set(data) - {"kind"}
        if data.get("where") == {} and "where" not in self.ALLOWED[kind]:
            given.discard("where")
        errors = {}
        for missing in sorted(self.NEEDS[kind] - given):
            errors[missing] = [f"Required for a {kind} measure."]
        for extra in sorted(given - self.ALLOWED[kind]):
            errors[extra] = [f"Not used by a {kind} measure."]
        if kind == "share_within" and ("within" in data) == ("within_field" in data):
            errors["within"] = ["Give exactly one of within: {hours: N} or within_field."]
        if kind == "share_within" and "within" in data and "hours" not in data["within"]:
            errors["within"] = ["Give the time allowed as {hours: N}."]
        if kind == "ratio":
            for part in ("numerator", "denominator"):
                if data.get(part, {}).get("kind") not in LEAF_KINDS:
                    errors[part] = [f"A ratio's {part} is a count, sum or distinct measure."]
        if errors:
            raise ValidationError(errors)


class IndicatorSchema(_Strict):
    code = fields.String(required=True, validate=[validate.Regexp(r"^[A-Z0-9-]+$"),
                                                  validate.Length(min=2, max=40)])
    name = fields.Nested(Texts, required=True)
    definition = fields.Nested(Texts, required=True)
    unit = fields.String(required=True, validate=validate.OneOf(UNITS))
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    phenomenon = fields.String(required=True, allow_none=True)
    objective = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,20}$"))
    target = fields.Float(required=True, allow_none=True)
    suppress_below = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    dimensions = fields.List(fields.String(validate=[
        validate.Regexp(FIELD), validate.NoneOf(RESERVED_DIMENSIONS)]), required=True,
        validate=validate.Length(max=MAX_DIMENSIONS))
    measure = fields.Nested(MeasureSchema, required=True)

    @validates_schema
    def _coherent(self, data, **kwargs):
        dims = data.get("dimensions") or []
        if len(set(dims)) != len(dims):
            raise ValidationError({"dimensions": ["A dimension is listed twice."]})
        kind = (data.get("measure") or {}).get("kind")
        unit = data.get("unit")
        if kind in ("ratio", "share_within") and unit != "percent":
            raise ValidationError({"unit": [f"A {kind} measure is a percent."]})
        if kind == "median_duration" and unit not in ("hours", "days"):
            raise ValidationError({"unit": ["A duration is in hours or days."]})


class FileSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    indicators = fields.List(fields.Nested(IndicatorSchema), required=True)


@dataclass(frozen=True)
class Leaf:
    """One projection the service keeps. `name` is the indicator's code, or the code with
    `#num` / `#den` for a ratio's parts."""
    name: str
    kind: str                                   # count | sum | distinct | span
    dimensions: tuple[str, ...]
    event: tuple[str, str] = ("", "")           # (source, event type), not for spans
    where: tuple[tuple[str, Any], ...] = ()
    field: str | None = None
    start: tuple[str, str] = ("", "")           # spans: (source, event type) of each side
    start_where: tuple[tuple[str, Any], ...] = ()
    end: tuple[str, str] = ("", "")
    end_where: tuple[tuple[str, Any], ...] = ()
    key: str | None = None
    within_field: str | None = None

    def events(self) -> list[tuple[str, str]]:
        return [self.start, self.end] if self.kind == "span" else [self.event]


@dataclass(frozen=True)
class Indicator:
    code: str
    name: dict
    definition: dict
    unit: str
    period: str
    phenomenon: str | None
    objective: str
    target: float | None
    suppress_below: int
    dimensions: tuple[str, ...]
    measure: dict
    version: int
    file: str

    @property
    def kind(self) -> str:
        return self.measure["kind"]

    def leaves(self) -> list[Leaf]:
        m, dims = self.measure, self.dimensions
        if m["kind"] == "ratio":
            return [_leaf(f"{self.code}#num", m["numerator"], dims),
                    _leaf(f"{self.code}#den", m["denominator"], dims)]
        if m["kind"] in SPAN_KINDS:
            return [Leaf(self.code, "span", dims, start=_event(m["start"]["event"]),
                         start_where=_pairs(m["start"].get("where")),
                         end=_event(m["end"]["event"]), end_where=_pairs(m["end"].get("where")),
                         key=m["key"], within_field=m.get("within_field"))]
        return [_leaf(self.code, m, dims)]

    def within_hours(self) -> float | None:
        return (self.measure.get("within") or {}).get("hours")

    def events(self) -> set[tuple[str, str]]:
        return {event for leaf in self.leaves() for event in leaf.events()}


def _event(ref: str) -> tuple[str, str]:
    source, event_type = ref.split(".", 1)
    return source, event_type


def _pairs(where: dict | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((where or {}).items()))


def _leaf(name: str, measure: dict, dims: tuple[str, ...]) -> Leaf:
    return Leaf(name, measure["kind"], dims, event=_event(measure["event"]),
                where=_pairs(measure.get("where")), field=measure.get("field"))


@dataclass(frozen=True)
class Catalogue:
    indicators: tuple[Indicator, ...]
    versions: dict          # file name -> version

    def get(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]

    def leaves(self) -> list[Leaf]:
        return [leaf for indicator in self.indicators for leaf in indicator.leaves()]

    def leaves_for(self, source: str, event_type: str) -> list[Leaf]:
        """The projections an event of this type may feed."""
        return list(self._leaves_by_event.get((source, event_type), ()))

    @functools.cached_property
    def _leaves_by_event(self) -> dict[tuple[str, str], tuple[Leaf, ...]]:
        """leaves_for's answers, computed once (the live consumer asks for every event)."""
        index: dict[tuple[str, str], list[Leaf]] = {}
        for leaf in self.leaves():
            for event in dict.fromkeys(leaf.events()):
                index.setdefault(event, []).append(leaf)
        return {event: tuple(leaves) for event, leaves in index.items()}

    def dimensions(self) -> set[str]:
        return {d for i in self.indicators for d in i.dimensions}


def phenomena(path: Path = PHENOMENA_FILE) -> set[str]:
    with open(path, encoding="utf-8") as f:
        return {p["code"] for p in yaml.safe_load(f)["phenomena"]}


def parse(files: dict[str, Any], known_phenomena: set[str]) -> Catalogue:
    """A catalogue from parsed YAML documents (file name -> document); CatalogueError naming
    each problem."""
    problems, indicators, versions = [], [], {}
    for file, document in sorted(files.items()):
        try:
            data = FileSchema().load(document if isinstance(document, dict) else {})
        except ValidationError as exc:
            problems.append(f"{file}: {exc.messages}")
            continue
        versions[file] = data["version"]
        for entry in data["indicators"]:
            if entry["phenomenon"] is not None and entry["phenomenon"] not in known_phenomena:
                problems.append(f"{file}: {entry['code']}: unknown PSSP phenomenon "
                                f"{entry['phenomenon']!r}")
            indicators.append(Indicator(
                code=entry["code"], name=entry["name"], definition=entry["definition"],
                unit=entry["unit"], period=entry["period"], phenomenon=entry["phenomenon"],
                objective=entry["objective"], target=entry["target"],
                suppress_below=entry["suppress_below"], dimensions=tuple(entry["dimensions"]),
                measure=entry["measure"], version=data["version"], file=file))
    seen: dict[str, str] = {}
    for indicator in indicators:
        if indicator.code in seen:
            problems.append(f"{indicator.file}: {indicator.code} is also defined in "
                            f"{seen[indicator.code]}")
        seen.setdefault(indicator.code, indicator.file)
    if problems:
        raise CatalogueError("; ".join(problems))
    return Catalogue(tuple(indicators), versions)


def load(directory: Path = CATALOGUE_DIR) -> Catalogue:
    """Every `*.yaml` file of the catalogue folder, validated."""
    files = {}
    for path in sorted(directory.glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            try:
                files[path.name] = yaml.safe_load(f)
            except yaml.YAMLError as exc:
                raise CatalogueError(f"{path.name}: not YAML: {exc}") from None
    if not files:
        raise CatalogueError(f"no catalogue file in {directory}")
    return parse(files, phenomena())
