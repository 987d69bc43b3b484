"""The event feed over the outbox: keyset-paginated, resumable, never skipping an event that commits late,
and never putting an event before one its transaction had already seen committed.

The problem. Outbox positions come from a sequence when a row is inserted, not when its transaction
commits. On PostgreSQL writers overlap: A takes position 41, B takes 42 and commits first. A reader at
that moment sees 42 but not 41 and hands out a cursor "after 42"; when A commits, 41 is behind every
cursor and a partner resuming from one never sees it. (SQLite has one writer at a time, BEGIN IMMEDIATE
to COMMIT, so positions are assigned in commit order there and this cannot happen; `feed_xid` stays 0
and the feed is plain position order.)

The fix (PostgreSQL). Every outbox row carries `feed_xid`, set by a trigger (migration 0005) to the larger
of the writing transaction's id (`pg_current_xact_id()`) and the largest feed_xid already committed in
the outbox. The feed is ordered by (feed_xid, position) and lists only rows whose feed_xid is below
`pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction still running when the statement began.

- Nothing is skipped. A row's feed_xid is at least its own transaction's id, so while that transaction
  runs the row is held back (feed_xid >= own xid >= xmin), and every cursor handed out meanwhile is below
  xmin, hence below the row. Rows of transactions below xmin have all ended and are visible to the
  statement: the listed part is a complete prefix. **A reader who resumes from the last cursor it saw
  receives every committed event exactly once, in the same order as every other reader.**
- Order follows causality. An event written after another one committed sorts after it: its feed_xid is
  at least the other's, and on a tie its position is higher. So an aggregate's events come in the order
  they happened (a later change is written by a transaction that saw the earlier one committed, the
  version check sees to that), and so does a customer's creation before their first order. Ordering by
  the bare transaction id would not promise this: a transaction that began writing (took its id) before
  another committed, and then changed the same order, would sort first. Events that did not see each
  other may come in either order; that is what concurrent means.

The price: an event is listed once every transaction that had taken an id before its feed_xid has ended.
One long-running transaction anywhere on the PostgreSQL cluster (the snapshot's xmin is cluster-wide)
delays the feed for as long as it runs; it delays, never loses. Use cases here are short; a bulk import
writes its events in one transaction and holds later events back until it commits.

Rejected: a "settle delay" (rows older than N seconds) promises nothing, since a transaction may stay
open longer than N; serialising writers on a lock until commit makes every write wait for the previous
commit; LISTEN/NOTIFY does not replay.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, or_, select

from application.queries.events import EventFilter, EventView
from application.queries.pagination import Page, PageRequest
from infrastructure.db import tables as t
from infrastructure.db.queries.keyset import SortKey, paginate
from infrastructure.db.reads import SqlReadModel

ob = t.outbox
FEED_ORDER = [SortKey(ob.c.feed_xid, int), SortKey(ob.c.position, int)]


def event_view(r: Any) -> EventView:
    return EventView(id=r.id, type=r.type, aggregate_type=r.aggregate_type, aggregate_id=r.aggregate_id,
                     occurred_at=r.occurred_at, payload=r.payload)


def settled() -> Any:
    """PostgreSQL: rows no running transaction can still precede (see the module docstring)."""
    horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    return ob.c.feed_xid < horizon


class SqlEventQueries(SqlReadModel):
    async def feed(self, filter: EventFilter, page: PageRequest) -> Page[EventView]:
        query = select(ob.c.feed_xid, ob.c.position, ob.c.id, ob.c.type, ob.c.aggregate_type, ob.c.aggregate_id,
                       ob.c.occurred_at, ob.c.payload)
        if self._reads.dialect == "postgresql":
            query = query.where(settled())
        if not filter.everything:
            query = query.where(or_(ob.c.type.in_(filter.types),
                                    *[ob.c.type.startswith(prefix, autoescape=True) for prefix in filter.prefixes]))
        return await paginate(self._reads, query, FEED_ORDER, descending=False, page=page, to_item=event_view)
