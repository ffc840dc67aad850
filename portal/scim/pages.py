"""/Users pages read as table rows: the fast path of the SCIM reads (ORM User objects are the plain one).

resources.user_json() reads attributes, so a row of the user_account table answers exactly as a User does;
tests/scim/test_pages.py checks both give the same JSON and that every page equals plain OFFSET paging.
A page in the second half of the list is read backwards from the end, so no page walks more than half the
account's index entries past an OFFSET (the last page of 100,000 users reads 100), and a short first page is
its own totalResults (Okta's and Entra's existence checks run no COUNT).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from portal.models import User

_users = User.__table__


def users_page(session: Session, where: Sequence[ColumnElement], start: int, count: int,
               selective: bool = False) -> tuple[list[Row], int]:
    """(rows ordered by id, totalResults) of the users matching where, from the 1-based start, at most count.

    selective: where finds a handful of rows through an index of its own (an `eq` on userName or externalId).
    """
    # Core statements on the session's connection: the ORM's execute machinery is not needed for table rows.
    if count and start == 1:
        # An existence check orders by id + 0: "ORDER BY id LIMIT n" would let PostgreSQL walk the account's
        # (account_id, id) index testing every row, and it does so with stale statistics and with a prepared
        # statement's generic plan, the time growing with the account (1 ms at 10,000 users during a push).
        # id + 0 is no index's order: the email or externalId index finds the rows, a sort of a few follows.
        order = _users.c.id + 0 if selective else _users.c.id
        rows = list(session.connection().execute(select(_users).where(*where).order_by(order).limit(count)))
        if len(rows) < count:
            return rows, len(rows)
        return rows, _total(session, where)
    total = _total(session, where)
    offset = start - 1
    if not count or offset >= total:
        return [], total
    wanted = min(count, total - offset)
    if offset < total // 2:
        ids = select(_users.c.id).where(*where).order_by(_users.c.id).offset(offset).limit(wanted)
    else:  # from the end: skip the rows after this page instead of the ones before it
        ids = select(_users.c.id).where(*where).order_by(_users.c.id.desc()).offset(total - offset - wanted) \
            .limit(wanted)
    # One statement: the page's ids from the index (an index-only walk), then only those rows.
    rows = list(session.connection().execute(select(_users).where(_users.c.id.in_(ids))
                                .order_by(_users.c.id)))
    return rows, total


def _total(session: Session, where: Sequence[ColumnElement]) -> int:
    return session.connection().scalar(select(func.count()).select_from(_users).where(*where))
