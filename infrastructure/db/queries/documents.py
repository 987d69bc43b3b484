"""Selections compiled into one SQL statement that builds the response's JSON (application/queries/documents.py).

How a selection becomes SQL (the way PostGraphile's planner does it):
- an object is `json_build_object('key', expression, ...)` (SQLite: `json_object`) over one row;
- a nested connection is a correlated subquery over that parent's page: the target rows narrowed by the
  parent's key, the read model's filters and visibility, the cursor, numbered in page order and cut at
  `size + 1` rows (an index range scan per parent), aggregated with `json_agg` (`json_group_array`);
- a to-one relation is a correlated subquery on the target's primary key; a plain list likewise.
Every level reads its table under an alias of its own, so no subquery correlates by accident.

Values come out exactly as the resolvers print them: global IDs are padded base64 of `Type:uuid`,
DateTimes are ISO 8601 in UTC as Python's `isoformat()` writes them, cursors are keyset.encode_cursor's.
SQLite has no base64 or UUID formatting of its own: engine.py registers small functions for them.

A shape lists, per GraphQL type, the fields it can compile; a selection with any other field (SLA clocks,
ERP costs, Money, activity subjects ...) compiles to None, and the API resolves it field by field instead.
"""
from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Sequence

import orjson
from sqlalchemy import ColumnElement, Integer, Numeric, Select, Text, and_, or_, bindparam, case, cast, func, literal_column, select, true, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import replacement_traverse

from application.ports import Clock
from application.queries.complaints import ComplaintFilter, ComplaintScope
from application.queries.documents import ScopeOf, Selected, SignIn
from application.queries.pagination import PageRequest
from application.queries.orders import OrderFilter
from application.queries.views import CustomerFilter, CustomerSort
from domain.money import DEFAULT_MINOR_UNIT, MINOR_UNITS
from domain.order import BOARD_STATUSES
from domain.shared import DomainError
from domain.sla import SlaEvaluation, SlaPolicy, SlaTarget, SlaTargetState, evaluate_sla
from infrastructure.db import tables as t
from infrastructure.db.queries.complaints import NEWEST_FIRST as COMPLAINTS_NEWEST_FIRST
from infrastructure.db.queries.complaints import SLA_HISTORY_KINDS, SqlComplaintQueries, complaint_criteria, visible_to
from infrastructure.db.queries.customers import SORTS as CUSTOMER_SORTS
from infrastructure.db.queries.customers import customer_filter
from infrastructure.db.queries.keyset import SortKey, decode_cursor
from infrastructure.db.queries.orders import NEWEST_FIRST as ORDERS_NEWEST_FIRST
from infrastructure.db.queries.orders import order_filter
from infrastructure.db.reads import SqlReadModel
from infrastructure.db.repositories.complaints import policy_from_snapshot
from infrastructure.db.repositories.organisation import staff_from_row

NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")  # GraphQL names: safe to write into the SQL as key literals
TYPENAME = "__typename"
PLACEHOLDER = uuid.UUID(int=0)


class Unsupported(Exception):
    """The selection asks for something this compiler does not build; the resolvers answer it."""


# ------------------------------------------------------------------------------------------ JSON in SQL


class JsonSql:
    """The JSON-building SQL of one dialect."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    @staticmethod
    def _key(name: str) -> ColumnElement[Any]:
        if not NAME.match(name):
            raise Unsupported(name)
        return literal_column(f"'{name}'")

    def object(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        if len(pairs) > 50:  # json_build_object takes at most 100 arguments
            raise Unsupported("too many fields")
        args = [part for key, value in pairs for part in (self._key(key), value)]
        return func.json_build_object(*args) if self.postgres else func.json_object(*args)

    def array(self, value: ColumnElement[Any], order: list[Any], where: ColumnElement[bool] | None = None
              ) -> ColumnElement[Any]:
        """The rows' values as a JSON array in `order` ([] for none); SQLite keeps its subquery's order."""
        if self.postgres:
            aggregate: Any = func.json_agg(aggregate_order_by(value, *order))
            if where is not None:
                aggregate = aggregate.filter(where)
            return func.coalesce(aggregate, literal_column("'[]'::json"))
        aggregate = func.json_group_array(value)
        if where is not None:
            aggregate = aggregate.filter(where)
        return func.coalesce(aggregate, literal_column("'[]'"))

    def items(self, values: list[ColumnElement[Any]]) -> ColumnElement[Any]:
        """A JSON array of these values, in this order."""
        return func.json_build_array(*values) if self.postgres else func.json_array(*values)

    def embed(self, subquery: Select[Any]) -> ColumnElement[Any]:
        """A scalar subquery's JSON as a value inside an object (SQLite forgets it is JSON otherwise)."""
        scalar = subquery.scalar_subquery()
        return scalar if self.postgres else func.json(scalar)

    def boolean(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgres:
            return value
        return case((value.is_(None), None), (value == true(), func.json("true")), else_=func.json("false"))

    def constant(self, value: bool) -> ColumnElement[Any]:
        if self.postgres:
            return literal_column("true" if value else "false")
        return func.json("true" if value else "false")

    def stored_json(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return value if self.postgres else func.json(value)

    def uuid_text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(value, Text) if self.postgres else func.crm_uuid(value)

    def base64url(self, text: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgres:  # encode() breaks lines every 76 characters: translate drops the newlines
            encoded = func.encode(func.convert_to(text, literal_column("'UTF8'")), literal_column("'base64'"))
            return func.rtrim(func.translate(encoded, literal_column("E'+/\\n'"), literal_column("'-_'")),
                              literal_column("'='"))
        return func.crm_b64(text)

    def global_id(self, type_name: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if not NAME.match(type_name):
            raise Unsupported(type_name)
        if self.postgres:  # api/common/relay.py's to_global_id: standard base64, padded (one line: it is short)
            return func.encode(func.convert_to(func.concat(literal_column(f"'{type_name}:'"), cast(value, Text)),
                                               literal_column("'UTF8'")), literal_column("'base64'"))
        return func.crm_gid(literal_column(f"'{type_name}'"), value)

    def isoformat(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """As Python's `datetime.isoformat()` of the UTC instant: microseconds only when there are some."""
        if not self.postgres:
            return func.crm_iso(value)
        utc = func.timezone(literal_column("'UTC'"), value)
        micro = func.to_char(utc, literal_column("'US'"))
        return case((value.is_(None), None), else_=func.concat(
            func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'")),
            case((micro == "000000", literal_column("''")), else_=func.concat(literal_column("'.'"), micro)),
            literal_column("'+00:00'")))

    def cursor(self, keys: list[SortKey]) -> ColumnElement[Any]:
        """keyset.encode_cursor of the row's sort values."""
        values = []
        for key in keys:
            column = key.column
            values.append(self.isoformat(column) if key.kind is datetime else
                          self.uuid_text(column) if key.kind is uuid.UUID else column)
        if self.postgres:  # as json.dumps writes it: no spaces (json_build_array's text has them)
            items = [part for i, v in enumerate(values)
                     for part in ([literal_column("','")] if i else []) + [cast(func.to_json(v), Text)]]
            array = func.concat(literal_column("'['"), *items, literal_column("']'"))
        else:
            array = func.json_array(*values)
        return self.base64url(array)

    def money(self, amount: ColumnElement[Any], currency: ColumnElement[Any]) -> ColumnElement[Any]:
        """domain/money.py's amount: half-even to the currency's minor unit, with exactly its decimals."""
        if not self.postgres:
            return func.crm_money(amount, currency)
        # constants written into the SQL, not bound: a page of orders would otherwise bind hundreds of them
        scale = case(*[(currency == literal_column(f"'{code}'"), literal_column(str(int(digits))))
                       for code, digits in MINOR_UNITS.items() if code.isalnum()],
                     else_=literal_column(str(int(DEFAULT_MINOR_UNIT))))
        factor = func.power(cast(literal_column("10"), Numeric), scale)
        scaled = amount * factor
        whole = func.trunc(scaled)
        even = case((and_(func.abs(scaled - whole) == literal_column("0.5"), func.mod(whole, literal_column("2")) == 0),
                     whole), else_=func.round(scaled))
        return cast(func.round(even / factor, scale), Text)

    def greater(self, left: ColumnElement[Any], right: int) -> ColumnElement[Any]:
        return self.boolean(left > right) if not self.postgres else left > right


# ------------------------------------------------------------------------------------------------ shapes

Column = Callable[[JsonSql, Any], ColumnElement[Any]]  # a field's value from the row source


def plain(name: str) -> Column:
    return lambda sql, row: row.c[name]


def boolean(name: str) -> Column:
    return lambda sql, row: sql.boolean(row.c[name])


def instant(name: str) -> Column:
    return lambda sql, row: sql.isoformat(row.c[name])


def stored_json(name: str) -> Column:
    return lambda sql, row: sql.stored_json(row.c[name])


def global_id(type_name: str, name: str = "id") -> Column:
    return lambda sql, row: sql.global_id(type_name, row.c[name])


@dataclass(frozen=True)
class One:
    """A to-one relation: this row's `column` is the target's id."""

    target: str
    column: str


@dataclass(frozen=True)
class Many:
    """A plain list: the target table's rows whose `parent` column is this row's id, in `order`; the items are
    objects of `target` or, with `value`, that column's values."""

    table: Any
    parent: str
    order: tuple[str, ...]
    target: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Page:
    """A nested connection: the target's rows whose `parent` column is this row's id, keyset-paginated by
    `keys` (columns of the target's table); `where` adds the read model's rules (visibility)."""

    target: str
    parent: str
    keys: tuple[SortKey, ...]
    descending: bool
    where: Callable[[Any, "Compilation"], ColumnElement[bool]] | None = None
    filters: tuple[tuple[str, str], ...] = ()  # filter input keys this page takes: (key, column) for `IN`


@dataclass(frozen=True)
class MoneyOf:
    """A Money object {amount, currency}: the amount rounded half-even to the currency's minor unit, written
    with exactly its decimals, as domain/money.py and the Decimal scalar write it."""

    amount: str
    currency: str


@dataclass(frozen=True)
class SlaClocks:
    """Complaint.sla: three clocks on business calendars, computed in Python at request time (domain/sla.py), not
    in SQL. The statement writes a marker with what they need in the field's place (`CLOCKS`), and the adapter
    puts the clocks there before it hands the document over."""


CLOCKS = "crm:sla"  # the marker's key: not a GraphQL name, so no alias can look like it
SLA_STATUS_FIELDS = {"escalationLevel", "firstResponse", "resolution", "nextUpdate", TYPENAME}
SLA_TARGET_FIELDS = {"state", "dueAt", "metAt", "remainingMinutes", TYPENAME}


@dataclass(frozen=True)
class Shape:
    type_name: str
    table: Any
    fields: dict[str, Column | One | Many | Page | MoneyOf | SlaClocks] = field(default_factory=dict)


def _complaints_visible(row: Any, compilation: "Compilation") -> ColumnElement[bool]:
    """domain/complaint.py's visibility, the very WHERE clause the loaders use, on this level's alias."""
    return ClauseAdapter(row).traverse(visible_to(compilation.scope()))


def _activity_visible(row: Any, compilation: "Compilation") -> ColumnElement[bool]:
    """Complaint entries only of complaints the reader may see (as SqlCustomerQueries.activity)."""
    scope = compilation.scope()
    if scope.sees_all:
        return true()
    cm = t.complaints
    visible = select(cm.c.id).where(cm.c.customer_id == row.c.customer_id, visible_to(scope)).correlate(row)
    return or_(row.c.subject_type.is_(None), row.c.subject_type != "Complaint", row.c.subject_id.in_(visible))


SHAPES: dict[str, Shape] = {s.type_name: s for s in [
    Shape("Customer", t.customers, {
        "id": global_id("Customer"), "code": plain("code"), "name": plain("name"), "kind": plain("kind"),
        "tier": plain("tier"), "lifecycleStage": plain("stage"), "attributes": stored_json("attributes"),
        "createdAt": instant("created_at"), "updatedAt": instant("updated_at"), "version": plain("version"),
        "owner": One("Staff", "owner_id"),
        "contacts": Many(t.customer_contacts, "customer_id", ("position",), target="Contact"),
        "tags": Many(t.customer_tags, "customer_id", ("tag",), value="tag"),
        "complaints": Page("Complaint", "customer_id", tuple(COMPLAINTS_NEWEST_FIRST), True, _complaints_visible,
                           filters=(("statuses", "status"), ("priorities", "priority"))),
        "orders": Page("Order", "customer_id", tuple(ORDERS_NEWEST_FIRST), True, filters=(("statuses", "status"),)),
        "activity": Page("Activity", "customer_id", (SortKey(t.customer_activity.c.at, datetime),
                                                     SortKey(t.customer_activity.c.id, uuid.UUID)), True,
                         _activity_visible),
    }),
    Shape("Contact", t.customer_contacts, {
        "id": global_id("Contact"), "name": plain("name"), "email": plain("email"), "phone": plain("phone"),
        "title": plain("title"), "primary": boolean("is_primary"),
    }),
    Shape("Staff", t.staff, {
        "id": global_id("Staff"), "name": plain("name"), "email": plain("email"), "role": plain("role"),
        "active": boolean("active"), "version": plain("version"), "department": One("Department", "department_id"),
    }),
    Shape("Activity", t.customer_activity, {
        "id": global_id("Activity"), "at": instant("at"), "kind": plain("kind"), "summary": plain("summary"),
        "department": One("Department", "department_id"), "actor": One("Staff", "actor_id"),
    }),
    Shape("Department", t.departments, {"id": global_id("Department"), "code": plain("code"), "name": plain("name")}),
    # no "timeline": a selection of it is left to the resolvers, where an outsider's read of it is recorded
    # (Complaint.timeline, infrastructure/complaint_reads.py); compiling it here must record it too
    Shape("Complaint", t.complaints, {
        "id": global_id("Complaint"), "number": plain("number"), "priority": plain("priority"),
        "channel": plain("channel"), "subject": plain("subject"), "description": plain("description"),
        "status": plain("status"), "resolution": plain("resolution"), "satisfaction": plain("satisfaction"),
        "createdAt": instant("created_at"), "updatedAt": instant("updated_at"), "version": plain("version"),
        "customer": One("Customer", "customer_id"), "category": One("ComplaintCategory", "category_id"),
        "assignee": One("Staff", "assignee_id"), "department": One("Department", "department_id"),
        "filedBy": One("Staff", "filed_by"), "order": One("Order", "order_id"), "sla": SlaClocks(),
    }),
    Shape("ComplaintCategory", t.complaint_categories, {
        "id": global_id("ComplaintCategory"), "code": plain("code"), "name": plain("name"), "active": boolean("active"),
        "parent": One("ComplaintCategory", "parent_id"),
    }),
    Shape("Order", t.orders, {
        "id": global_id("Order"), "number": plain("number"), "status": plain("status"), "currency": plain("currency"),
        "advancePayment": plain("advance_payment"), "placedAt": instant("placed_at"),
        "total": MoneyOf("total_amount", "currency"),
        "createdAt": instant("created_at"), "updatedAt": instant("updated_at"), "version": plain("version"),
        "customer": One("Customer", "customer_id"), "owner": One("Staff", "owner_id"),
    }),
]}


# ------------------------------------------------------------------------------------------- compilation


class Compilation:
    """One statement being built: fresh aliases, and the reader's complaint scope if a level needs it."""

    def __init__(self, sql: JsonSql, sees_all: bool = False) -> None:
        self.sql = sql
        self._sees_all = sees_all
        self.scoped = False  # whether the statement reads complaints (and so takes the reader's scope)
        self.clocks: list[Selected] = []  # the `sla` selections whose markers the statement writes, by number
        self._aliases = 0

    def alias(self, table: Any) -> Any:
        self._aliases += 1
        return table.alias(f"j{self._aliases}")

    def scope(self) -> ComplaintScope:
        """A stand-in for the reader's scope: its ids are the parameters scope_staff and scope_department, given
        per request; only whether the reader sees every complaint shapes the statement."""
        self.scoped = True
        return ComplaintScope(PLACEHOLDER, PLACEHOLDER, self._sees_all)

    # -------------------------------------------------------------------------------- objects and lists

    def object(self, shape: Shape, row: Any, fields: Sequence[Selected]) -> ColumnElement[Any]:
        pairs = []
        for selected in fields:
            if selected.name == TYPENAME:
                pairs.append((selected.key, literal_column(f"'{shape.type_name}'")))
                continue
            how = shape.fields.get(selected.name)
            if how is None or (selected.arguments and not isinstance(how, Page)):
                raise Unsupported(f"{shape.type_name}.{selected.name}")
            pairs.append((selected.key, self._value(how, row, selected)))
        return self.sql.object(pairs)

    def _value(self, how: Column | One | Many | Page | MoneyOf | SlaClocks, row: Any,
               selected: Selected) -> ColumnElement[Any]:
        if isinstance(how, SlaClocks):
            return self._clocks_marker(row, selected)
        if isinstance(how, One):
            target = SHAPES[how.target]
            other = self.alias(target.table)
            return self.sql.embed(select(self.object(target, other, selected.fields))
                                  .where(other.c.id == row.c[how.column]).correlate(row))
        if isinstance(how, Many):
            other = self.alias(how.table)
            value = other.c[how.value] if how.value else self.object(SHAPES[how.target or ""], other, selected.fields)
            return self._related_array(row, other, value, other.c[how.parent] == row.c.id,
                                       [other.c[name] for name in how.order], json_items=not how.value)
        if isinstance(how, MoneyOf):
            pairs = []
            for part in selected.fields:
                if part.name == "amount":
                    pairs.append((part.key, self.sql.money(row.c[how.amount], row.c[how.currency])))
                elif part.name == "currency":
                    pairs.append((part.key, row.c[how.currency]))
                elif part.name == TYPENAME:
                    pairs.append((part.key, literal_column("'Money'")))
                else:
                    raise Unsupported(part.name)
            return self.sql.object(pairs)
        if isinstance(how, Page):
            target = SHAPES[how.target]
            other = self.alias(target.table)
            criteria = [other.c[how.parent] == row.c.id, *page_filter(how, other, selected)]
            if how.where is not None:
                criteria.append(how.where(other, self))
            keys = [SortKey(other.c[k.column.key], k.kind) for k in how.keys]
            return self.connection(target, other, criteria, keys, how.descending, nested_page(selected),
                                   selected.fields, correlate=row)
        return how(self.sql, row)

    def name(self) -> str:
        self._aliases += 1
        return f"j{self._aliases}"

    def _clocks_marker(self, row: Any, selected: Selected) -> ColumnElement[Any]:
        """{CLOCKS: [selection number, id, policy terms, filed at, escalation level, history]} in the `sla` field's
        place; the history is the complaint's status changes and progress entries (`_sla_history`)."""
        for part in selected.fields:
            if part.name not in SLA_STATUS_FIELDS or part.arguments or (
                    part.name != TYPENAME and part.name != "escalationLevel"
                    and not {p.name for p in part.fields} <= SLA_TARGET_FIELDS):
                raise Unsupported(f"SlaStatus.{part.name}")
        self.clocks.append(selected)
        sql = self.sql
        inputs = sql.items([literal_column(str(len(self.clocks) - 1)), sql.uuid_text(row.c.id),
                            sql.stored_json(row.c.sla_terms), sql.isoformat(row.c.created_at),
                            row.c.escalation_level, self._sla_history(row)])
        marker = literal_column(f"'{CLOCKS}'")
        return func.json_build_object(marker, inputs) if sql.postgres else func.json_object(marker, inputs)

    def _sla_history(self, row: Any) -> ColumnElement[Any]:
        """[[at, kind, from status, to status], ...] in timeline order: what a complaint's clocks read of its
        timeline, in the page's own statement rather than one more round trip per page."""
        timeline = self.alias(t.complaint_timeline)
        entry = self.sql.items([self.sql.isoformat(timeline.c.at), timeline.c.kind, timeline.c.from_status,
                                timeline.c.to_status])
        kinds = [literal_column(f"'{kind}'") for kind in SLA_HISTORY_KINDS]
        where = and_(timeline.c.complaint_id == row.c.id, timeline.c.kind.in_(kinds))
        return self._related_array(row, timeline, entry, where, [timeline.c.position], json_items=True)

    def _related_array(self, row: Any, other: Any, value: ColumnElement[Any], where: ColumnElement[bool],
                       order: list[Any], *, json_items: bool) -> ColumnElement[Any]:
        """`value` of `other`'s rows that meet `where` (correlated with `row`), as a JSON array in `order`. SQLite
        aggregates an ordered subquery, whose JSON items (objects, arrays) lose their JSON type on the way."""
        if self.sql.postgres:
            return self.sql.embed(select(self.sql.array(value, order)).select_from(other).where(where).correlate(row))
        ordered = select(value.label("item")).where(where).order_by(*order).correlate(row).subquery(self.name())
        item = func.json(ordered.c.item) if json_items else ordered.c.item
        return self.sql.embed(select(self.sql.array(item, [])).select_from(ordered))

    # -------------------------------------------------------------------------------------- connections

    def connection(self, shape: Shape, source: Any, criteria: list[ColumnElement[bool]], keys: list[SortKey],
                   descending: bool, page: PageRequest, fields: Sequence[Selected], *, correlate: Any = None,
                   after_parameters: bool = False) -> ColumnElement[Any]:
        """`{edges {cursor node}, pageInfo, totalCount}` of one page of `source`'s rows that meet `criteria`.

        The page is one subquery that builds each row's node object (and cursor, if asked for) in page order and
        stops after `size + 1` rows; the connection object aggregates it. With `after_parameters` the cursor's
        values are the parameters after_0, after_1 ... (a kept plan)."""
        if page.backward:
            raise Unsupported("backward pages")
        size = page.size
        order = [k.column.desc() if descending else k.column.asc() for k in keys]
        where = list(criteria)
        if after_parameters:
            bound = tuple_(*[bindparam(f"after_{i}", type_=k.column.type) for i, k in enumerate(keys)])
            row_key = tuple_(*[k.column for k in keys])
            where.append(row_key < bound if descending else row_key > bound)
        elif page.after is not None:
            values = decode_cursor(page.after, keys, "after")
            row_key, bound = tuple_(*[k.column for k in keys]), tuple_(*values)
            where.append(row_key < bound if descending else row_key > bound)
        # what the page's rows must carry: each selected node, the cursor, the row count (for endCursor)
        columns: dict[str, ColumnElement[Any]] = {"page_rank": func.row_number().over(order_by=order)}
        wanted = {part.name for f in fields for part in f.fields if f.name in ("edges", "pageInfo")}
        if wanted & {"cursor", "startCursor", "endCursor"}:
            columns["page_cursor"] = self.sql.cursor(keys)
        if "endCursor" in wanted:
            columns["page_rows"] = func.count().over()
        nodes: dict[tuple[str, str], str] = {}
        for f in fields:
            for part in (f.fields if f.name == "edges" else ()):
                if part.name == "node":
                    nodes[(f.key, part.key)] = name = f"page_node{len(nodes)}"
                    columns[name] = self.object(shape, source, part.fields)
        inner = select(*[value.label(name) for name, value in columns.items()]).select_from(source).where(*where) \
            .order_by(*order).limit(size + 1)
        paged = (inner.correlate(correlate) if correlate is not None else inner).subquery(self.name())
        rank = paged.c.page_rank
        on_page = rank <= size
        pairs: list[tuple[str, ColumnElement[Any]]] = []
        aggregated = False  # whether anything reads the page's rows (else one row, not one per page row)
        for selected in fields:
            if selected.name == TYPENAME:
                pairs.append((selected.key, literal_column(f"'{shape.type_name}Connection'")))
            elif selected.name == "edges":
                edge = []
                for part in selected.fields:
                    if part.name == "node":
                        edge.append((part.key, self.sql.stored_json(paged.c[nodes[(selected.key, part.key)]])))
                    elif part.name == "cursor":
                        edge.append((part.key, paged.c.page_cursor))
                    elif part.name == TYPENAME:
                        edge.append((part.key, literal_column(f"'{shape.type_name}Edge'")))
                    else:
                        raise Unsupported(part.name)
                pairs.append((selected.key, self.sql.array(self.sql.object(edge), [rank], on_page)))
                aggregated = True
            elif selected.name == "pageInfo":
                info = []
                for part in selected.fields:
                    if part.name == "hasNextPage":
                        value = self.sql.greater(func.count(), size)
                    elif part.name == "hasPreviousPage":
                        value = self.sql.constant(page.after is not None)
                    elif part.name == "startCursor":
                        value = func.max(case((and_(rank == 1, on_page), paged.c.page_cursor)))
                    elif part.name == "endCursor":
                        last = func.least(paged.c.page_rows, size) if self.sql.postgres \
                            else func.min(paged.c.page_rows, size)
                        value = func.max(case((rank == last, paged.c.page_cursor)))
                    elif part.name == TYPENAME:
                        value = literal_column("'PageInfo'")
                    else:
                        raise Unsupported(part.name)
                    aggregated = aggregated or part.name in ("hasNextPage", "startCursor", "endCursor")
                    info.append((part.key, value))
                pairs.append((selected.key, self.sql.object(info)))
            elif selected.name == "totalCount":
                counted = select(func.count()).select_from(source).where(*criteria)
                pairs.append((selected.key, (counted.correlate(correlate) if correlate is not None else counted)
                              .scalar_subquery()))
            else:
                raise Unsupported(selected.name)
        built = select(self.sql.object(pairs))
        return self.sql.embed(built.select_from(paged) if aggregated else built)


def board(compilation: Compilation, filter: OrderFilter, fields: Sequence[Selected]) -> ColumnElement[Any]:
    """The order Kanban (OrderBoard): one column per board status the filter admits, each with its count, its
    totals per currency (Money, ordered by currency) and its own page of orders, newest first."""
    sql = compilation.sql
    statuses = [s.value for s in BOARD_STATUSES if not filter.statuses or s.value in filter.statuses]
    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for selected in fields:
        if selected.name == TYPENAME:
            pairs.append((selected.key, literal_column("'OrderBoard'")))
        elif selected.name == "columns":
            pairs.append((selected.key, sql.items([_board_column(compilation, filter, status, selected.fields)
                                                   for status in statuses])))
        else:
            raise Unsupported(selected.name)
    return sql.object(pairs)


def _board_column(compilation: Compilation, filter: OrderFilter, status: str,
                  fields: Sequence[Selected]) -> ColumnElement[Any]:
    sql = compilation.sql

    def of_column() -> tuple[Any, list[ColumnElement[bool]]]:
        rows = compilation.alias(t.orders)
        return rows, [rows.c.status == literal_column(f"'{status}'"),
                      *[ClauseAdapter(rows).traverse(c) for c in order_filter(filter)]]

    # the column's count and totals per currency: one GROUP BY currency over its orders (a CTE, computed once
    # for both), which the index on (status, currency, total_amount) answers without reading the table
    rows, criteria = of_column()
    cells = select(rows.c.currency, func.count().label("n"), func.sum(rows.c.total_amount).label("total")) \
        .where(*criteria).group_by(rows.c.currency).cte(compilation.name())

    pairs: list[tuple[str, ColumnElement[Any]]] = []
    for selected in fields:
        if selected.name == TYPENAME:
            value: ColumnElement[Any] = literal_column("'OrderBoardColumn'")
        elif selected.name == "status":
            value = literal_column(f"'{status}'")  # an OrderStatus value: a constant of the domain
        elif selected.name == "count":
            value = select(cast(func.coalesce(func.sum(cells.c.n), 0), Integer)).scalar_subquery()
        elif selected.name == "totals":
            if not sql.postgres:
                raise Unsupported("exact sums of text amounts")  # SQLite: the resolvers sum them exactly
            money = []
            for part in selected.fields:
                if part.name == "amount":
                    money.append((part.key, sql.money(cells.c.total, cells.c.currency)))
                elif part.name == "currency":
                    money.append((part.key, cells.c.currency))
                elif part.name == TYPENAME:
                    money.append((part.key, literal_column("'Money'")))
                else:
                    raise Unsupported(part.name)
            value = sql.embed(select(sql.array(sql.object(money), [cells.c.currency])))
        elif selected.name == "orders":
            rows, criteria = of_column()
            keys = [SortKey(rows.c[k.column.key], k.kind) for k in ORDERS_NEWEST_FIRST]
            value = compilation.connection(SHAPES["Order"], rows, criteria, keys, True, nested_page(selected),
                                           selected.fields)
        else:
            raise Unsupported(selected.name)
        pairs.append((selected.key, value))
    return sql.object(pairs)


def page_filter(how: Page, row: Any, selected: Selected) -> list[ColumnElement[bool]]:
    """The nested page's `filter` argument as criteria: only the keys the page lists, each an `IN`."""
    given = selected.arguments.get("filter") or {}
    columns = dict(how.filters)
    criteria = []
    for key, value in given.items():
        if value is None:
            continue
        if key not in columns or not isinstance(value, list):
            raise Unsupported(f"filter {key}")
        criteria.append(row.c[columns[key]].in_([getattr(v, "value", v) for v in value]))
    return criteria


def nested_page(selected: Selected) -> PageRequest:
    unknown = set(selected.arguments) - {"first", "after", "filter"}
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    try:
        return PageRequest(first=selected.arguments.get("first"), after=selected.arguments.get("after"))
    except DomainError:
        raise Unsupported("bad page arguments") from None  # the resolver reports it, with its path


def sla_status(selected: Selected, evaluation: SlaEvaluation | None, escalation_level: int) -> dict[str, Any]:
    """SlaStatus as the resolvers write it (api/complaints/types.py: SlaStatus, SlaTarget.of)."""
    status: dict[str, Any] = {}
    for part in selected.fields:
        if part.name == TYPENAME:
            status[part.key] = "SlaStatus"
        elif part.name == "escalationLevel":
            status[part.key] = escalation_level
        else:
            target = getattr(evaluation, _TARGETS[part.name]) if evaluation is not None else None
            status[part.key] = _sla_target(part, target)
    return status


_TARGETS = {"firstResponse": "first_response", "resolution": "resolution", "nextUpdate": "next_update"}


def _sla_target(selected: Selected, target: SlaTarget | None) -> dict[str, Any]:
    if target is None or target.state is SlaTargetState.NOT_APPLICABLE:
        values: dict[str, Any] = {"state": SlaTargetState.NOT_APPLICABLE.value, "dueAt": None, "metAt": None,
                                  "remainingMinutes": None}
    else:
        values = {"state": target.state.value, "dueAt": _iso(target.due_at), "metAt": _iso(target.met_at),
                  "remainingMinutes": None if target.state is SlaTargetState.MET else target.remaining_minutes}
    values[TYPENAME] = "SlaTarget"
    return {part.key: values[part.name] for part in selected.fields}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# ---------------------------------------------------------------------------------------------- adapter


POLICIES_KEPT = 1024
_POLICIES: dict[tuple[Any, ...], SlaPolicy] = {}


def _policy(terms: dict[str, Any]) -> SlaPolicy:
    """The SLA policy a complaint's stored terms describe; the complaints of one policy share its terms, so each
    is read once per process (a page of 50 complaints asked for 50)."""
    key = tuple(terms.items())
    policy = _POLICIES.get(key)
    if policy is None:
        if len(_POLICIES) >= POLICIES_KEPT:
            _POLICIES.clear()
        policy = _POLICIES[key] = policy_from_snapshot(terms)
    return policy


@dataclass
class _Plan:
    """A compiled selection, kept for the next request of the same shape. `scoped` plans read complaints and
    need the reader's scope: one document for readers who see all, one for the others. Each document runs
    alone or, while the request's sign-in is still to be checked, beside the staff row it names."""

    scoped: bool = False
    documents: dict[bool | None, ColumnElement[Any]] = field(default_factory=dict)  # by sees_all (None: unscoped)
    clocks: dict[bool | None, list[Selected]] = field(default_factory=dict)  # each document's SLA selections
    statements: dict[tuple[bool | None, bool], Any] = field(default_factory=dict)  # by (that, signed)

    def statement(self, key: bool | None, signed: bool) -> Any:
        statement = self.statements.get((key, signed))
        if statement is None:
            document = cast(_constants_in_sql(self.documents[key]), Text).label("document")
            if signed:  # the staff row under a name of its own: the document's staff subqueries stay uncorrelated
                staff = t.staff.alias("signing_in")
                statement = select(staff, document).where(staff.c.id == bindparam("signing_in", type_=staff.c.id.type))
            else:
                statement = select(document)
            self.statements[(key, signed)] = statement
        return statement


SAFE_CONSTANT = re.compile(r"^[A-Za-z0-9_.:+-]*$")


def _constants_in_sql(document: ColumnElement[Any]) -> ColumnElement[Any]:
    """The document with the constants it was built with written into the SQL (page sizes, statuses, a format's
    pieces) instead of bound: a statement without parameters is planned once per connection, while one with
    them may be planned again on every execution (the Kanban's took 7 ms to plan, longer than to run). Only the
    parameters given per request stay (ids, cursors, the reader's scope: the named ones), and any text that is
    not plainly safe to write as a literal (a search term)."""

    def literal(value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(int(value))
        if isinstance(value, str) and SAFE_CONSTANT.match(value):
            return f"'{value}'"
        return None

    def constant(element: Any) -> Any:
        if not isinstance(element, BindParameter) or not element.unique or element.callable is not None:
            return None
        values = list(element.value) if element.expanding and isinstance(element.value, (list, tuple)) \
            else [element.value]
        written = [literal(value) for value in values]
        if not written or None in written:
            return None
        text_ = f"({', '.join(written)})" if element.expanding else written[0]  # type: ignore[arg-type]
        return literal_column(text_, type_=element.type)

    return replacement_traverse(document, {}, constant)


UNSUPPORTED = _Plan()
PLANS_KEPT = 512


class SqlDocumentReads(SqlReadModel):
    """DocumentReads on SQL: the customers' and complaints' pages, a customer and the Kanban, each one statement
    (and, for SLA clocks, one for the calendars; the history rides in the page's own statement).

    Building a statement costs milliseconds (SQLAlchemy constructs, table aliases), far more than running it,
    so each is built once per shape of request (the selection, the filter, the sort, the page size) and kept;
    what differs between requests of one shape goes in as named parameters: the customer's id or code, the
    page's cursor, the reader's staff and department ids (visible_to)."""

    def __init__(self, engine: Any, clock: Callable[[], Clock]) -> None:
        super().__init__(engine)
        self._plans: OrderedDict[Any, _Plan] = OrderedDict()
        self._complaints = SqlComplaintQueries(engine)  # what SLA clocks need besides the document
        self._clock = clock  # the clock as configured now (tests replace it), as the resolvers' context has it

    async def customers(self, fields: Sequence[Selected], filter: CustomerFilter, sort: CustomerSort,
                        page: PageRequest, scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        order = CUSTOMER_SORTS[sort.field]
        params: dict[str, Any] = {}
        if page.after is not None:
            try:
                values = decode_cursor(page.after, [order, SortKey(t.customers.c.id, uuid.UUID)], "after")
            except DomainError:
                return None  # the resolver reports it
            params = {f"after_{i}": value for i, value in enumerate(values)}

        def build(compilation: Compilation) -> ColumnElement[Any]:
            root = compilation.alias(t.customers)
            criteria = [ClauseAdapter(root).traverse(c) for c in customer_filter(filter)]
            keys = [SortKey(root.c[order.column.key], order.kind), SortKey(root.c.id, uuid.UUID)]
            return compilation.connection(SHAPES["Customer"], root, criteria, keys, sort.descending, page, fields,
                                          after_parameters=page.after is not None)

        shape = ("customers", tuple(f.signature for f in fields), filter, sort, page.size, page.after is not None)
        return await self._document(shape, build, params, scope_of, sign_in)

    async def customer(self, fields: Sequence[Selected], *, id: Any = None, code: str | None = None,
                       scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        def build(compilation: Compilation) -> ColumnElement[Any]:
            root = compilation.alias(t.customers)
            match = root.c.id == bindparam("root_id", type_=root.c.id.type) if id is not None \
                else root.c.code == bindparam("root_code", type_=root.c.code.type)
            found = select(compilation.object(SHAPES["Customer"], root, fields)).where(match)
            return func.coalesce(compilation.sql.embed(found), literal_column("'null'"))

        params = {"root_id": id} if id is not None else {"root_code": (code or "").strip().upper()}
        return await self._document(("customer", tuple(f.signature for f in fields), id is not None), build, params,
                                    scope_of, sign_in)

    async def complaints(self, fields: Sequence[Selected], filter: ComplaintFilter, page: PageRequest,
                         scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        params: dict[str, Any] = {}
        keys = COMPLAINTS_NEWEST_FIRST
        if page.after is not None:
            try:
                values = decode_cursor(page.after, keys, "after")
            except DomainError:
                return None  # the resolver reports it
            params = {f"after_{i}": value for i, value in enumerate(values)}
        if filter.sla_at_risk is not None:
            params["now"] = self._clock().now()

        def build(compilation: Compilation) -> ColumnElement[Any]:
            root = compilation.alias(t.complaints)
            now = bindparam("now", type_=t.complaints.c.sla_at_risk_at.type)
            criteria = [ClauseAdapter(root).traverse(c) for c in complaint_criteria(filter, now)]
            criteria.append(_complaints_visible(root, compilation))
            return compilation.connection(SHAPES["Complaint"], root, criteria,
                                          [SortKey(root.c[k.column.key], k.kind) for k in keys], True, page, fields,
                                          after_parameters=page.after is not None)

        shape = ("complaints", tuple(f.signature for f in fields), filter, page.size, page.after is not None)
        return await self._document(shape, build, params, scope_of, sign_in)

    async def board(self, fields: Sequence[Selected], filter: OrderFilter, scope_of: ScopeOf,
                    sign_in: SignIn | None = None) -> bytes | None:
        return await self._document(("board", tuple(f.signature for f in fields), filter),
                                    lambda compilation: board(compilation, filter, fields), {}, scope_of, sign_in)

    async def _document(self, shape: Any, build: Callable[[Compilation], ColumnElement[Any]],
                        params: dict[str, Any], scope_of: ScopeOf, sign_in: SignIn | None) -> bytes | None:
        """The JSON `build` compiles, as text (the driver would parse it otherwise); None if unsupported. With a
        `sign_in`, the staff row it names is read in the same statement and handed to it first."""
        sql = JsonSql(self._reads.dialect)
        plan = self._plans.get(shape)
        if plan is not None:
            self._plans.move_to_end(shape)
        else:
            plan = self._plan(sql, build)
            self._plans[shape] = plan
            if len(self._plans) > PLANS_KEPT:
                self._plans.popitem(last=False)
        if plan is UNSUPPORTED:
            return None
        key: bool | None = None
        if plan.scoped:
            scope = await scope_of()
            key = scope.sees_all
            if key not in plan.documents:
                compilation = Compilation(sql, scope.sees_all)
                plan.documents[key] = build(compilation)
                plan.clocks[key] = compilation.clocks
            params = {**params, "scope_staff": scope.staff_id, "scope_department": scope.department_id}
        statement = plan.statement(key, signed=sign_in is not None)
        try:
            if sign_in is None:
                (row,) = await self._reads.driver_rows(statement, params)
            else:
                rows = await self._reads.driver_rows(statement, {**params, "signing_in": sign_in.staff_id})
                sign_in.accept(staff_from_row(rows[0]) if rows else None)
                row = rows[0]
            value = row.document
        except OperationalError as err:
            if "parser stack overflow" not in str(err):
                raise
            self._plans[shape] = UNSUPPORTED  # nested too deeply for SQLite's parser: the resolvers answer
            return None
        if plan.clocks.get(key):
            return await self._with_clocks(value, plan.clocks[key])
        return value.encode() if isinstance(value, str) else value

    async def _with_clocks(self, document: str | bytes, clocks: list[Selected]) -> bytes:
        """The document with each SLA marker replaced by the clocks it stands for, computed as the resolvers
        compute them (domain/sla.py on the complaint's policy terms, calendar and history, at the clock's now)."""
        tree = orjson.loads(document)
        markers: list[tuple[Any, Any, list[Any]]] = []  # (container, key, marker inputs)

        def find(node: Any) -> None:
            for key, value in node.items() if type(node) is dict else enumerate(node):
                kind = type(value)
                if kind is dict:
                    if CLOCKS in value:
                        markers.append((node, key, value[CLOCKS]))
                    else:
                        find(value)
                elif kind is list:
                    find(value)

        find(tree)
        policies = {raw_id: _policy(terms) for _, _, (_, raw_id, terms, _, _, _) in markers if terms}
        calendar_ids = sorted({p.calendar_id for p in policies.values()})
        calendars = dict(zip(calendar_ids, await self._complaints.calendars_by_ids(calendar_ids))) if calendar_ids else {}
        now = self._clock().now()
        for node, key, (number, raw_id, _, filed_at, level, history) in markers:
            policy = policies.get(raw_id)
            calendar = calendars.get(policy.calendar_id) if policy else None
            evaluation = None
            if policy is not None and calendar is not None:
                changes = [(datetime.fromisoformat(at), from_status, to_status)
                           for at, kind, from_status, to_status in history if kind == "STATUS_CHANGE"]
                progress = [datetime.fromisoformat(at) for at, kind, _, _ in history if kind != "STATUS_CHANGE"]
                evaluation = evaluate_sla(policy, calendar, datetime.fromisoformat(filed_at), changes, progress, now)
            node[key] = sla_status(clocks[number], evaluation, level)
        return orjson.dumps(tree)

    @staticmethod
    def _plan(sql: JsonSql, build: Callable[[Compilation], ColumnElement[Any]]) -> _Plan:
        compilation = Compilation(sql)
        try:
            document = build(compilation)
        except (Unsupported, DomainError):  # the resolvers answer, and report bad arguments at their path
            return UNSUPPORTED
        key = False if compilation.scoped else None  # a scoped plan's first is for readers who do not see all
        return _Plan(scoped=compilation.scoped, documents={key: document}, clocks={key: compilation.clocks})
