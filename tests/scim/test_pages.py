"""The fast /Users reads (portal/scim/pages.py: table rows, pages from the nearer end) answer as the plain path."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from portal.directory import scim as directory
from portal.extensions import db
from portal.models import ScimActor, User
from portal.scim import filters, pages, resources

BASE = "https://portal.test/scim/v2/acme"


@pytest.fixture
def people(account):
    actor = ScimActor(id=None, email="Okta")
    for n in range(22):
        directory.create_user(account, {"email": f"u{n:02d}@acme.test", "external_id": f"x{n % 3}",
                                        "given_name": f"G{n}", "family_name": "" if n % 4 else f"F{n}",
                                        "name": f"G{n}", "active": n % 5 != 0}, actor)
    ids = list(db.session.scalars(select(User.id).where(User.account_id == account.id).order_by(User.id)))
    directory.create_group(account, "Blue", None, ids[::2], actor)
    directory.create_group(account, "Amber", "a1", ids[::3], actor)
    db.session.commit()
    return account


def _plain(where, start: int, count: int) -> tuple[list[int], int]:
    """The plain path: ORM User objects, OFFSET from the start, a COUNT."""
    users = db.session.scalars(select(User).where(*where).order_by(User.id).offset(start - 1).limit(count)
                               .options(lazyload(User.account)))
    return [u.id for u in users], db.session.scalar(select(func.count()).select_from(User).where(*where))


@pytest.mark.parametrize("text", [None, 'userName sw "u1"', 'externalId eq "x1"', 'active eq false',
                                  'userName eq "u07@acme.test"', 'userName eq "nobody@acme.test"'])
def test_every_page_equals_plain_offset_paging(people, text):
    where = [User.account_id == people.id]
    if text:
        where.append(filters.users_where(filters.parse(text)))
    for count in (0, 1, 3, 7, 10, 23, 100):
        for start in range(1, 27):
            rows, total = pages.users_page(db.session, where, start, count)
            assert ([r.id for r in rows], total) == _plain(where, start, count), (text, start, count)


def test_a_row_answers_exactly_as_the_user_object(people, other_account):
    where = [User.account_id == people.id]
    rows, total = pages.users_page(db.session, where, 1, 100)
    assert total == 23 and len(rows) == 23  # the account's admin and the 22
    groups = resources.groups_of(db.session, [r.id for r in rows])
    assert [name for _id, name in groups[rows[0].id]] == ["Amber", "Blue"]
    for row in rows:
        user = db.session.get(User, row.id)
        assert resources.user_json(row, BASE, groups[row.id]) == resources.user_json(user, BASE, groups[user.id])
        assert resources.user_json(row, BASE, None) == resources.user_json(user, BASE, None)
