"""200 SSO logins from concurrent clients against gunicorn, bursts of simultaneous first logins, and replay."""
from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.load

CLIENTS = 20


def _counts(portal) -> dict:
    q = "SELECT count(*) FROM audit_event WHERE event_type = 'sso.login' AND outcome = :outcome"
    return {"success": portal.scalar(q, outcome="success"), "failure": portal.scalar(q, outcome="failure")}


def _simultaneous(portal, forms_and_sessions) -> list[int]:
    """POST every prepared form at the same moment (a barrier releases all client threads together)."""
    barrier = threading.Barrier(len(forms_and_sessions))

    def post(item):
        session, form = item
        barrier.wait(timeout=60)
        return portal.post(session, form).status_code

    with ThreadPoolExecutor(len(forms_and_sessions)) as pool:
        return list(pool.map(post, forms_and_sessions))


def _prepare(portal, email: str, **options):
    session = requests.Session()
    return session, portal.answer(portal.begin(session), email, **options)


def test_200_concurrent_logins_with_simultaneous_first_logins(portal):
    before = _counts(portal)
    statuses: list[int] = []

    # 20 simultaneous first logins of the same new user, in a new group.
    with ThreadPoolExecutor(8) as pool:
        same_user = list(pool.map(lambda _: _prepare(portal, "new.person@acme.test", groups=["Night Shift"]),
                                  range(CLIENTS)))
        same_group = list(pool.map(lambda i: _prepare(portal, f"tiger{i}@acme.test", groups=["Tiger Team"]),
                                   range(CLIENTS)))
    burst = _simultaneous(portal, same_user)
    assert burst == [303] * CLIENTS
    statuses += burst
    burst = _simultaneous(portal, same_group)
    assert burst == [303] * CLIENTS
    statuses += burst

    # 160 more from 20 concurrent clients: returning and new users, shared groups, and refusals.
    rnd = random.Random(7)
    plan = []
    for i in range(160):
        if i % 8 == 7:
            plan.append((f"mixed{i % 30}@acme.test", {"issuer": "http://www.okta.com/exkWRONG"}, 400))
        else:
            groups = rnd.sample(["Support", "Sales", "Ops", "Tiger Team", "Night Shift"], rnd.randint(0, 3))
            plan.append((rnd.choice([f"mixed{i % 30}@acme.test", "new.person@acme.test", "admin@acme.test"]),
                         {"groups": groups}, 303))

    def run(step):
        email, options, _ = step
        return portal.login(email, **options).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        mixed = list(pool.map(run, plan))
    assert mixed == [expected for _, _, expected in plan]
    statuses += mixed

    assert len(statuses) == 200 and not [s for s in statuses if s >= 500]
    assert portal.scalar("SELECT count(*) FROM user_account WHERE email = 'new.person@acme.test'") == 1
    assert portal.scalar("SELECT count(*) FROM team WHERE name_key IN ('night shift', 'tiger team')") == 2
    assert portal.scalar("SELECT count(*) FROM team_membership m JOIN team t ON t.id = m.team_id "
                         "WHERE t.name_key = 'tiger team' AND m.user_id IN "
                         "(SELECT id FROM user_account WHERE email LIKE 'tiger%')") == CLIENTS
    created = "SELECT count(*) FROM audit_event WHERE event_type = :type AND subject = :subject"
    assert portal.scalar(created, type="user.created", subject="new.person@acme.test") == 1
    assert portal.scalar(created, type="team.auto_created", subject="Night Shift") == 1
    assert portal.scalar(created, type="team.auto_created", subject="Tiger Team") == 1
    after = _counts(portal)
    assert after["success"] - before["success"] == statuses.count(303)
    assert after["failure"] - before["failure"] == statuses.count(400) == 20
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event_type = 'sso.login' AND outcome = 'failure' "
                         "AND reason = 'issuer_mismatch'") == 20


def test_one_response_replayed_by_many_clients_at_once_succeeds_once(portal):
    before = _counts(portal)
    session = requests.Session()
    form = portal.answer(portal.begin(session), "replayed@acme.test", groups=["Replay"])
    statuses = _simultaneous(portal, [(requests.Session(), form) for _ in range(CLIENTS)])
    assert statuses.count(303) == 1
    assert sorted(set(statuses) - {303}) == [400], statuses
    after = _counts(portal)
    assert after["success"] - before["success"] == 1
    assert after["failure"] - before["failure"] == CLIENTS - 1
    assert portal.scalar("SELECT count(*) FROM user_account WHERE email = 'replayed@acme.test'") == 1
