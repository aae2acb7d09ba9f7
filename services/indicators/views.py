"""What the indicators service shows: the catalogue, series, target against actual, antennas of
one commune side by side, the dashboard, the events set aside, and the exports (CSV, the annual
PSSP evaluation as XLSX). Reads only; every figure goes through `domain.published`, so counts
under an indicator's `suppress_below` show as "<5" in every output.

Indicator outputs are aggregates (no personal data), so reading them is not logged; who may read
them is decided in policy.py, and only the antennas the caller works for are ever read.
"""
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.indicators import domain, policy
from services.indicators.catalogue import Catalogue, Indicator, Leaf
from services.indicators.models import (
    Cell,
    DistinctValue,
    SetAside,
    Span,
    StoredEvent,
    Target,
    TargetHistory,
)
from shared.clock import as_utc
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.identity import Identity
from shared.paging import fetch_page

View = dict[str, Any]
GROUPS = ("period", "antenna")     # besides an indicator's own dimensions


def authorise_read(identity: Identity) -> None:
    if not policy.may_read(identity.role):
        raise Forbidden("Your role may not read indicators.")


def indicator_or_404(catalogue: Catalogue, code: str) -> Indicator:
    indicator = catalogue.get(code) if isinstance(code, str) else None
    if indicator is None:
        raise NotFound(f"No indicator {code!r} in the catalogue.")
    return indicator


def period_range(start: str, end: str | None, name: str = "from") -> domain.Range:
    try:
        return domain.period_range(start, end)
    except domain.BadPeriod as exc:
        raise ValidationFailed("Bad period.", {name: [str(exc)]}) from None


# -- the catalogue and targets --------------------------------------------------------------------

def targets(session: Session) -> dict[str, float | None]:
    return {row.indicator: row.value for row in session.scalars(select(Target))}


def current_target(session: Session, indicator: Indicator) -> float | None:
    row = session.get(Target, indicator.code)
    return row.value if row is not None else indicator.target


def indicator_view(indicator: Indicator, target: float | None) -> View:
    return {"code": indicator.code, "name": indicator.name, "definition": indicator.definition,
            "unit": indicator.unit, "period": indicator.period,
            "phenomenon": indicator.phenomenon, "objective": indicator.objective,
            "target": target, "suppress_below": indicator.suppress_below,
            "dimensions": list(indicator.dimensions), "measure": indicator.measure,
            "version": indicator.version, "file": indicator.file}


def catalogue_view(session: Session, catalogue: Catalogue) -> View:
    stored = targets(session)
    return {"versions": catalogue.versions,
            "items": [indicator_view(i, stored.get(i.code, i.target)) for i in
                      catalogue.indicators]}


def target_history(session: Session, code: str) -> list[View]:
    return [{"previous": h.previous, "value": h.value, "set_by": h.set_by,
             "set_at": as_utc(h.set_at).isoformat()}
            for h in session.scalars(select(TargetHistory).where(TargetHistory.indicator == code)
                                     .order_by(TargetHistory.id))]


# -- computing figures ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """What one figure or series is asked for."""
    range: domain.Range
    antennas: tuple[str, ...]
    filters: Mapping[str, str] = field(default_factory=dict)   # dimension -> value
    group_by: tuple[str, ...] = ()                              # period, antenna, dimensions
    grain: str = "month"


def _column(model: Any, indicator: Indicator, dimension: str) -> Any:
    return getattr(model, f"d{indicator.dimensions.index(dimension) + 1}")


def _selection(model: Any, leaf: Leaf, indicator: Indicator, query: Query,
               month_column: Any) -> tuple[list, list]:
    conditions = [model.leaf == leaf.name, month_column >= query.range.first,
                  month_column <= query.range.last, model.antenna_id.in_(query.antennas)]
    for dimension, value in query.filters.items():
        conditions.append(_column(model, indicator, dimension) == value)
    groups = [model.antenna_id] + [_column(model, indicator, d) for d in query.group_by
                                   if d not in GROUPS]
    return conditions, groups


def _group_key(indicator: Indicator, query: Query, month: str, antenna: str,
               dims: Iterable[str]) -> tuple:
    dims = iter(dims)
    key = []
    for name in query.group_by:
        if name == "period":
            key.append(domain.bucket(month, query.grain))
        elif name == "antenna":
            key.append(antenna)
        else:
            key.append(next(dims))
    return tuple(key)


def _leaf_tallies(session: Session, indicator: Indicator, leaf: Leaf,
                  query: Query) -> dict[tuple, domain.Tally]:
    tallies: dict[tuple, domain.Tally] = {}
    if leaf.kind in ("count", "sum"):
        conditions, groups = _selection(Cell, leaf, indicator, query, Cell.month)
        rows = session.execute(select(Cell.month, *groups, func.sum(Cell.count),
                                      func.sum(Cell.total))
                               .where(*conditions).group_by(Cell.month, *groups))
        for month, antenna, *rest in rows:
            *dims, count, total = rest
            tally = tallies.setdefault(_group_key(indicator, query, month, antenna, dims),
                                       domain.Tally())
            tally.count += int(count or 0)
            tally.total += float(total or 0)
    elif leaf.kind == "distinct":
        conditions, groups = _selection(DistinctValue, leaf, indicator, query,
                                        DistinctValue.month)
        rows = session.execute(select(DistinctValue.month, *groups, DistinctValue.value)
                               .where(*conditions).distinct())
        for month, antenna, *rest in rows:
            *dims, value = rest
            tally = tallies.setdefault(_group_key(indicator, query, month, antenna, dims),
                                       domain.Tally(values=set()))
            assert tally.values is not None
            tally.values.add(value)
    else:
        conditions, groups = _selection(Span, leaf, indicator, query, Span.month)
        rows = session.execute(select(Span.month, *groups, Span.started_at, Span.ended_at,
                                      Span.deadline).where(*conditions))
        within_hours = indicator.within_hours()
        for month, antenna, *rest in rows:
            *dims, started, ended, deadline = rest
            tally = tallies.setdefault(_group_key(indicator, query, month, antenna, dims),
                                       domain.Tally(durations=[]))
            duration, within = domain.span_figures(
                as_utc(started), as_utc(ended), domain.parse_instant(deadline), within_hours)
            if duration is not None:
                assert tally.durations is not None
                tally.durations.append(duration)
            if within is not None:
                tally.with_deadline += 1
                tally.within += int(within)
    return tallies


def tallies(session: Session, indicator: Indicator, query: Query) -> dict[tuple, domain.Tally]:
    """The tally behind each point of the answer, by group key (in `query.group_by` order)."""
    leaves = indicator.leaves()
    if indicator.kind != "ratio":
        return _leaf_tallies(session, indicator, leaves[0], query)
    numerators = _leaf_tallies(session, indicator, leaves[0], query)
    denominators = _leaf_tallies(session, indicator, leaves[1], query)
    for key, tally in denominators.items():
        tally.numerator = numerators.get(key, domain.Tally())
    return denominators


def figure(indicator: Indicator, tally: domain.Tally) -> View:
    n, value = domain.value_of(indicator.kind, indicator.unit, tally)
    return domain.published(n, value, indicator.suppress_below)


def check_groups_and_filters(indicator: Indicator, group_by: Iterable[str],
                             filters: Mapping[str, str]) -> None:
    errors = {}
    for name in group_by:
        if name not in GROUPS and name not in indicator.dimensions:
            errors["group_by"] = [f"{indicator.code} cannot be grouped by {name!r}: by "
                                  f"{', '.join([*GROUPS, *indicator.dimensions])}."]
    for name in filters:
        if name not in indicator.dimensions:
            errors[name] = [f"{indicator.code} has no dimension {name!r}."]
    if errors:
        raise ValidationFailed("Unknown grouping or filter.", errors)


def series(session: Session, catalogue: Catalogue, identity: Identity, code: str,
           query: Mapping[str, Any]) -> View:
    """One indicator over a range, by period (the indicator's own unless `grain` says) and any
    grouping, filtered by antenna and dimensions."""
    indicator = indicator_or_404(catalogue, code)
    filters = dict(query.get("filters") or {})
    group_by = tuple(query.get("group_by") or ())
    check_groups_and_filters(indicator, group_by, filters)
    if "period" not in group_by:
        group_by = ("period", *group_by)
    asked = Query(period_range(query["from"], query.get("to")),
                  antennas_for(identity, query.get("antenna")), filters, group_by,
                  query.get("grain") or indicator.period)
    points = [{**dict(zip(group_by, key, strict=True)), **figure(indicator, tally)}
              for key, tally in sorted(tallies(session, indicator, asked).items())]
    return {"indicator": indicator.code, "unit": indicator.unit, "grain": asked.grain,
            "from": asked.range.first, "to": asked.range.last, "antennas": list(asked.antennas),
            "filters": filters, "group_by": list(group_by), "points": points}


def antennas_for(identity: Identity, asked: str | None) -> tuple[str, ...]:
    """The antennas a read covers: those the caller works for, or the one asked (if theirs)."""
    if asked is None:
        return tuple(identity.antennas)
    if asked not in identity.antennas:
        raise Forbidden(f"You do not work for antenna {asked!r}.")
    return (asked,)


def total(session: Session, indicator: Indicator, range_: domain.Range,
          antennas: tuple[str, ...], filters: Mapping[str, str] | None = None) -> View:
    found = tallies(session, indicator, Query(range_, antennas, filters or {}))
    return figure(indicator, found.get((), domain.Tally(values=set(), durations=[])))


def target_vs_actual(session: Session, catalogue: Catalogue, identity: Identity,
                     year: str, antenna: str | None = None) -> View:
    """Every indicator's target and its figure for the year."""
    range_ = period_range(year, None, "year")
    if range_.months() != 12:
        raise ValidationFailed("Bad period.", {"year": ["Give a year: YYYY."]})
    antennas = antennas_for(identity, antenna)
    stored = targets(session)
    items = []
    for indicator in catalogue.indicators:
        target = stored.get(indicator.code, indicator.target)
        actual = total(session, indicator, range_, antennas)
        items.append({"code": indicator.code, "name": indicator.name, "unit": indicator.unit,
                      "objective": indicator.objective, "phenomenon": indicator.phenomenon,
                      "target": target, "actual": actual,
                      "status": domain.status_against(target, actual["value"],
                                                      indicator.kind)})
    return {"year": year[:4], "antennas": list(antennas), "items": items}


def compare_antennas(session: Session, catalogue: Catalogue, identity: Identity, code: str,
                     commune: str, start: str, end: str | None) -> View:
    """One indicator for each antenna of a commune the caller works for, side by side (seed
    002: evaluate the Tulipe antenna before opening others)."""
    indicator = indicator_or_404(catalogue, code)
    range_ = period_range(start, end)
    antennas = sorted(a for a in identity.antennas if domain.commune_of(a) == commune)
    if not antennas:
        raise NotFound(f"You work for no antenna of the commune {commune!r}.")
    return {"indicator": code, "commune": commune, "from": range_.first, "to": range_.last,
            "items": [{"antenna": a, **total(session, indicator, range_, (a,))}
                      for a in antennas]}


STATE_DIMENSIONS = ("state", "status", "final_status", "to_status")


def dashboard(session: Session, catalogue: Catalogue, identity: Identity,
              query: Mapping[str, Any]) -> View:
    """Every indicator over one range with the same filters (category, neighbourhood, state) and
    grouping. An indicator without a filtered dimension is listed as not applicable rather
    than shown unfiltered."""
    range_ = period_range(query["from"], query.get("to"))
    antennas = antennas_for(identity, query.get("antenna"))
    group = query.get("group_by")
    wanted = {name: query[name] for name in ("category", "neighbourhood", "state")
              if query.get(name)}
    items = []
    for indicator in catalogue.indicators:
        filters, missing = {}, []
        for name, value in wanted.items():
            dims = STATE_DIMENSIONS if name == "state" else (name,)
            found = next((d for d in dims if d in indicator.dimensions), None)
            if found is None:
                missing.append(name)
            else:
                filters[found] = value
        head = {"code": indicator.code, "name": indicator.name, "unit": indicator.unit}
        if missing:
            items.append({**head, "applicable": False,
                          "reason": f"no {', '.join(missing)} dimension", "groups": []})
            continue
        group_by: tuple[str, ...] = ()
        if group in GROUPS or (group and group in indicator.dimensions):
            group_by = (group,)
        grain = query.get("grain") or indicator.period
        found_tallies = tallies(session, indicator,
                                Query(range_, antennas, filters, group_by, grain))
        overall = total(session, indicator, range_, antennas, filters)
        items.append({**head, "applicable": True, "total": overall,
                      "groups": [{"group": key[0] if key else None,
                                  **figure(indicator, tally)}
                                 for key, tally in sorted(found_tallies.items()) if key]})
    return {"from": range_.first, "to": range_.last, "antennas": list(antennas),
            "filters": wanted, "group_by": group, "items": items}


# -- operations -----------------------------------------------------------------------------------

def authorise_operations(identity: Identity) -> None:
    if not policy.may_read_operations(identity.role):
        raise Forbidden("Your role may not read the events set aside.")


def set_aside_page(session: Session, query: Mapping[str, Any]) -> View:
    statement = select(SetAside).order_by(SetAside.id)
    page = fetch_page(session, statement, query)
    return page.answer(lambda row: {
        "id": row.id, "event_id": row.event_id, "source": row.source,
        "event_type": row.event_type, "schema_version": row.schema_version,
        "antenna_id": row.antenna_id, "reason": row.reason,
        "received_at": as_utc(row.received_at).isoformat()})


def store_status(session: Session) -> View:
    return {"events": session.scalar(select(func.count()).select_from(StoredEvent)) or 0,
            "set_aside": session.scalar(select(func.count()).select_from(SetAside)) or 0}


# -- exports --------------------------------------------------------------------------------------

def series_csv(answer: View) -> str:
    """A series answer as CSV: one row per point; suppressed counts show as "<5"."""
    out = io.StringIO()
    groups = answer["group_by"]
    writer = csv.writer(out)
    writer.writerow(["indicator", "unit", *groups, "n", "value"])
    for point in answer["points"]:
        writer.writerow([answer["indicator"], answer["unit"], *[point[g] for g in groups],
                         point["n"], "" if point["value"] is None else point["value"]])
    return out.getvalue()


def evaluation_rows(session: Session, catalogue: Catalogue, identity: Identity, year: str,
                    language: str = "fr") -> list[dict]:
    """The annual evaluation's rows: by strategic objective, then phenomenon, then indicator."""
    report = target_vs_actual(session, catalogue, identity, year)
    rows = []
    for item in sorted(report["items"],
                       key=lambda i: (i["objective"], i["phenomenon"] or "", i["code"])):
        actual = item["actual"]
        rows.append({"objective": item["objective"], "phenomenon": item["phenomenon"] or "",
                     "code": item["code"], "name": item["name"][language],
                     "unit": item["unit"], "target": item["target"],
                     "actual": domain.SUPPRESSED if actual["suppressed"] else actual["value"],
                     "n": actual["n"], "status": item["status"] or ""})
    return rows


def evaluation_xlsx(session: Session, catalogue: Catalogue, identity: Identity, year: str,
                    now: datetime) -> bytes:
    """The annual PSSP evaluation as a workbook: one sheet per strategic objective (phenomenon
    by phenomenon, target against actual), and a summary sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = evaluation_rows(session, catalogue, identity, year)
    book = Workbook()
    summary = book.active
    summary.title = "Évaluation PSSP"
    summary.append([f"Évaluation annuelle PSSP {year[:4]}",
                    f"antennes: {', '.join(identity.antennas)}",
                    f"généré le {now:%Y-%m-%d %H:%M} UTC"])
    header = ["Objectif stratégique", "Phénomène", "Code", "Indicateur", "Unité", "Cible",
              "Réalisé", "n", "Statut"]
    summary.append(header)
    for cell in summary[2]:
        cell.font = Font(bold=True)
    for row in rows:
        summary.append([row["objective"], row["phenomenon"], row["code"], row["name"],
                        row["unit"], row["target"], row["actual"], row["n"], row["status"]])
    for objective in sorted({row["objective"] for row in rows}):
        sheet = book.create_sheet(objective[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        phenomenon = None
        for row in (r for r in rows if r["objective"] == objective):
            if row["phenomenon"] != phenomenon:
                phenomenon = row["phenomenon"]
                sheet.append([objective, phenomenon or "(tous phénomènes)"])
                sheet.cell(sheet.max_row, 2).font = Font(italic=True)
            sheet.append([row["objective"], row["phenomenon"], row["code"], row["name"],
                          row["unit"], row["target"], row["actual"], row["n"],
                          row["status"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
