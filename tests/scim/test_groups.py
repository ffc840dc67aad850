"""/Groups through the HTTP API: pushed groups become teams, members of source scim only, rename, delete rules."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.directory import roles, teams as team_service
from portal.extensions import db
from portal.models import AuditEvent, Role, Team, TeamMembership, User
from portal.permissions import PERMISSIONS
from tests.helpers import make_team
from tests.scim.helpers import assert_error, filter_param, group_body, okta_user, patch_op


@pytest.fixture
def users(scim):
    return [scim.post("/Users", okta_user(f"u{n}@acme.test", external_id=f"x{n}")).get_json()["id"]
            for n in range(4)]


def _team(name):
    return db.session.scalar(select(Team).where(Team.name_key == Team.key(name)))


def _memberships(team):
    return sorted((m.user.email, m.source) for m in db.session.scalars(
        select(TeamMembership).where(TeamMembership.team_id == team.id)))


def _events(type_):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == type_).order_by(AuditEvent.id)))


def test_okta_push_groups_rename_and_member_add_remove(scim, users, account):
    # Okta: does the group exist? then POST it with its members.
    assert scim.get("/Groups?filter=" + filter_param('displayName eq "Engineering"')).get_json()["totalResults"] == 0
    created = scim.post("/Groups", group_body("Engineering", users[:2]))
    assert created.status_code == 201, created.get_data(as_text=True)
    group = created.get_json()
    gid = group["id"]
    assert created.headers["Location"] == group["meta"]["location"].rstrip() == \
        f"https://portal.test/scim/v2/acme/Groups/{gid}"
    assert sorted(m["value"] for m in group["members"]) == sorted(users[:2])
    team = _team("Engineering")
    assert (team.source, team.scim_id, team.roles) == ("scim", gid, [])
    assert _memberships(team) == [("u0@acme.test", "scim"), ("u1@acme.test", "scim")]
    # Okta's rename: replace without path, the value repeating the group's own id.
    renamed = scim.patch(f"/Groups/{gid}", patch_op({"op": "replace", "value": {"id": gid,
                                                                               "displayName": "Eng & Research"}}))
    assert renamed.status_code == 204
    assert _team("Eng & Research").id == team.id
    # Okta's member changes
    assert scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members",
                                                 "value": [{"value": users[2]}, {"value": users[3]}]})).status_code == 204
    assert scim.patch(f"/Groups/{gid}", patch_op({"op": "remove", "path": f'members[value eq "{users[0]}"]'})) \
        .status_code == 204
    got = scim.get(f"/Groups/{gid}").get_json()
    assert sorted(m["value"] for m in got["members"]) == sorted(users[1:])
    assert got["displayName"] == "Eng & Research"
    assert [e.event_type for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type.like("scim.group.%")).order_by(AuditEvent.id))] == [
        "scim.group.created", "scim.group.updated", "scim.group.updated", "scim.group.updated"]
    # the user's read-only groups
    assert scim.get(f"/Users/{users[1]}").get_json()["groups"] == [
        {"value": gid, "display": "Eng & Research", "$ref": f"https://portal.test/scim/v2/acme/Groups/{gid}",
         "type": "direct"}]


def test_entra_member_changes_with_capitalised_ops_and_value_lists(scim, users):
    gid = scim.post("/Groups", group_body("Sales", external_id="entra-g1")).get_json()["id"]
    assert scim.get("/Groups?filter=" + filter_param('externalId eq "entra-g1"')).get_json()["Resources"][0]["id"] == gid
    scim.patch(f"/Groups/{gid}", patch_op({"op": "Add", "path": "members", "value": [{"value": u} for u in users]}))
    scim.patch(f"/Groups/{gid}", patch_op({"op": "Remove", "path": "members",
                                          "value": [{"value": users[0]}, {"value": users[1]}]}))
    assert sorted(m["value"] for m in scim.get(f"/Groups/{gid}").get_json()["members"]) == sorted(users[2:])
    scim.patch(f"/Groups/{gid}", patch_op({"op": "Replace", "path": "displayName", "value": "Sales EMEA"}))
    scim.patch(f"/Groups/{gid}", patch_op({"op": "Replace", "path": "members", "value": [{"value": users[0]}]}))
    got = scim.get(f"/Groups/{gid}?excludedAttributes=members").get_json()
    assert got["displayName"] == "Sales EMEA" and "members" not in got
    assert [m["value"] for m in scim.get(f"/Groups/{gid}").get_json()["members"]] == [users[0]]
    found = scim.get("/Groups?filter=" + filter_param(f'members[value eq "{users[0]}"]')).get_json()
    assert [g["id"] for g in found["Resources"]] == [gid]
    assert scim.get("/Groups?filter=" + filter_param(f'members.value eq "{users[3]}"')).get_json()["totalResults"] == 0
    assert scim.delete(f"/Groups/{gid}").status_code == 204
    assert _team("Sales EMEA") is None
    assert_error(scim.get(f"/Groups/{gid}"), 404)


def test_a_pushed_group_named_like_an_unlinked_team_links_to_it_and_like_a_linked_one_is_409(scim, account, users):
    manual = make_team(account, "support", roles=["Developer"])
    created = scim.post("/Groups", group_body("Support", users[:1]))
    assert created.status_code == 201
    assert created.get_json()["id"] == _team("support").scim_id and _team("support").id == manual.id
    assert _events("scim.group.created")[0].details["linked_existing_team"] is True
    assert_error(scim.post("/Groups", group_body("SUPPORT")), 409, "uniqueness")
    other = scim.post("/Groups", group_body("Other")).get_json()["id"]
    assert_error(scim.patch(f"/Groups/{other}", patch_op({"op": "replace", "path": "displayName",
                                                         "value": "support"})), 409, "uniqueness")


def test_groups_lists_only_teams_scim_created_or_linked(scim, account, users):
    make_team(account, "Manual only")
    scim.post("/Groups", group_body("Pushed"))
    listed = scim.get("/Groups").get_json()
    assert [g["displayName"] for g in listed["Resources"]] == ["Pushed"] and listed["totalResults"] == 1


def test_scim_memberships_never_touch_manual_or_sso_ones_and_the_other_way_round(scim, account, users, admin):
    from portal.models import User
    u0 = User.by_email("u0@acme.test")
    team = make_team(account, "Ops", members=[u0], member_source="manual")
    db.session.add(TeamMembership(team=team, user=admin, account_id=account.id, source="sso", group_name="Ops"))
    db.session.commit()
    gid = scim.post("/Groups", group_body("Ops", [users[0], users[1]])).get_json()["id"]
    assert _memberships(_team("Ops")) == [("admin@acme.test", "sso"), ("u0@acme.test", "manual"),
                                          ("u0@acme.test", "scim"), ("u1@acme.test", "scim")]
    # members lists (and replaces) only scim memberships
    assert sorted(m["value"] for m in scim.get(f"/Groups/{gid}").get_json()["members"]) == sorted(users[:2])
    scim.patch(f"/Groups/{gid}", patch_op({"op": "replace", "path": "members", "value": []}))
    assert _memberships(_team("Ops")) == [("admin@acme.test", "sso"), ("u0@acme.test", "manual")]
    # a manual removal leaves the scim membership alone
    scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members", "value": [{"value": users[0]}]}))
    team_service.remove_member(account, _team("Ops"), "u0@acme.test")
    db.session.commit()
    assert _memberships(_team("Ops")) == [("admin@acme.test", "sso"), ("u0@acme.test", "scim")]
    # SSO group sync: a login with the group adds an sso membership beside the scim one; a login without it
    # removes only its own (sso) membership
    from portal.directory.group_sync import sync_groups
    account.sso_config.auto_create_groups = True
    sync_groups(account, u0, ["Ops"], account.sso_config, max_groups=200, max_removals=10)
    db.session.commit()
    assert ("u0@acme.test", "sso") in _memberships(_team("Ops"))
    sync_groups(account, u0, [], account.sso_config, max_groups=200, max_removals=10)
    sync_groups(account, admin, [], account.sso_config, max_groups=200, max_removals=10)
    db.session.commit()
    assert _memberships(_team("Ops")) == [("u0@acme.test", "scim")]
    assert [m["value"] for m in scim.get(f"/Groups/{gid}").get_json()["members"]] == [users[0]]


def test_delete_keeps_a_team_held_by_a_role_grant_or_other_memberships_and_unlinks_it(scim, account, users):
    gid = scim.post("/Groups", group_body("Finance", users[:2])).get_json()["id"]
    team_service.grant_role(account, _team("Finance"), "Billing")
    db.session.commit()
    assert scim.delete(f"/Groups/{gid}").status_code == 204
    team = _team("Finance")
    assert team is not None and team.scim_id is None and [r.name for r in team.roles] == ["Billing"]
    assert _memberships(team) == []
    assert_error(scim.get(f"/Groups/{gid}"), 404)
    assert scim.get("/Groups").get_json()["totalResults"] == 0
    event = _events("scim.group.deleted")[0]
    assert event.details["team_kept"] is True
    # pushing it again links the kept team
    again = scim.post("/Groups", group_body("Finance")).get_json()["id"]
    assert again != gid and _team("Finance").scim_id == again


def test_group_bad_input_and_other_accounts(scim, other_scim, users):
    assert_error(scim.post("/Groups", group_body("")), 400, "invalidValue")
    assert_error(scim.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}), 400,
                 "invalidValue")
    assert_error(scim.post("/Groups", group_body("X", ["no-such-user"])), 400, "invalidValue")
    assert _team("X") is None  # nothing half-written
    theirs_user = other_scim.post("/Users", okta_user("t@globex.test")).get_json()["id"]
    assert_error(scim.post("/Groups", group_body("Y", [theirs_user])), 400, "invalidValue")
    theirs = other_scim.post("/Groups", group_body("Theirs")).get_json()["id"]
    for response in (scim.get(f"/Groups/{theirs}"), scim.delete(f"/Groups/{theirs}"),
                     scim.patch(f"/Groups/{theirs}", patch_op({"op": "replace", "path": "displayName", "value": "Z"})),
                     scim.put(f"/Groups/{theirs}", group_body("Z"))):
        assert_error(response, 404)
    gid = scim.post("/Groups", group_body("Mine", users[:1])).get_json()["id"]
    before = scim.get(f"/Groups/{gid}").get_json()
    for body, scim_type in [
        (patch_op({"op": "add", "path": "members", "value": [{"value": users[1]}]},
                  {"op": "add", "path": "members", "value": [{"value": "nobody"}]}), "invalidValue"),
        (patch_op({"op": "replace", "path": "id", "value": "other"}), "mutability"),
        (patch_op({"op": "remove", "path": "displayName"}), "invalidValue"),
        (patch_op({"op": "remove", "path": 'members[display co "x"]'}), "invalidFilter"),
        (patch_op({"op": "add", "path": "owners", "value": 1}), "invalidPath"),
        (patch_op({"op": "add", "path": "members", "value": "x"}), "invalidValue")]:
        assert_error(scim.patch(f"/Groups/{gid}", body), 400, scim_type)
    assert scim.get(f"/Groups/{gid}").get_json() == before


def test_put_group_replaces_name_and_scim_members(scim, users):
    gid = scim.post("/Groups", group_body("Put", users[:2])).get_json()["id"]
    body = group_body("Put Renamed", users[2:])
    body["id"] = gid
    answer = scim.put(f"/Groups/{gid}", body)
    assert answer.status_code == 200
    assert sorted(m["value"] for m in answer.get_json()["members"]) == sorted(users[2:])
    assert answer.get_json()["displayName"] == "Put Renamed"


# ---- DESIGN.md (turn 3): SCIM never adds or removes members of a team holding a role with Account admin
# permissions (400 mutability, audited), so a SCIM token can never make an admin.

@pytest.fixture(params=["Account admin", "Owners"])
def admin_role(request, app):
    """A role with Account admin permissions: the predefined one, or another name holding every permission."""
    if request.param == "Owners":
        db.session.add(Role(name="Owners", description="", permissions=sorted(PERMISSIONS)))
        db.session.commit()
    return request.param


def _refused(answer, before_events: int) -> None:
    assert_error(answer, 400, "mutability")
    refused = _events("scim.request.refused")
    assert len(refused) == before_events + 1 and refused[-1].reason == "mutability"
    assert refused[-1].outcome == "failure" and refused[-1].actor_email == "Okta"


def test_a_pushed_group_with_members_is_not_linked_to_a_team_holding_account_admin(scim, account, users,
                                                                                   admin_role):
    make_team(account, "Admins", roles=[admin_role])
    _refused(scim.post("/Groups", group_body("admins", users[:2])), 0)
    team = _team("Admins")  # nothing half-written: still unlinked, no members, no scim.group.created
    assert team.scim_id is None and _memberships(team) == [] and _events("scim.group.created") == []
    # linked with no members it makes nobody an admin: allowed, and then its members stay out of SCIM's reach
    linked = scim.post("/Groups", group_body("Admins"))
    assert linked.status_code == 201 and _team("Admins").scim_id == linked.get_json()["id"]
    _refused(scim.patch(f"/Groups/{linked.get_json()['id']}", patch_op(
        {"op": "add", "path": "members", "value": [{"value": users[0]}]})), 1)
    assert _memberships(_team("Admins")) == []
    assert not any(u.email.startswith("u") for u in
                   [db.session.get(User, uid) for uid in roles.account_admin_ids(account)])


def _member_changes(users):
    """Every way SCIM changes a group's members, as (method, body); the group holds users[0] and users[1]."""
    put = group_body("Ops", users[1:3])
    return [
        ("PATCH", patch_op({"op": "add", "path": "members", "value": [{"value": users[2]}]})),
        ("PATCH", patch_op({"op": "Add", "value": {"members": [{"value": users[2]}]}})),
        ("PATCH", patch_op({"op": "remove", "path": f'members[value eq "{users[0]}"]'})),
        ("PATCH", patch_op({"op": "remove", "path": "members", "value": [{"value": users[0]}]})),
        ("PATCH", patch_op({"op": "remove", "path": "members"})),
        ("PATCH", patch_op({"op": "replace", "path": "members", "value": [{"value": users[3]}]})),
        ("PATCH", patch_op({"op": "replace", "path": "displayName", "value": "Ops 2"},
                           {"op": "add", "path": "members", "value": [{"value": users[3]}]})),
        ("PUT", put),
        ("DELETE", None),
    ]


@pytest.mark.parametrize("change", range(9))
def test_scim_never_changes_the_members_of_a_team_granted_account_admin_after_it_was_linked(
        scim, account, users, admin_role, change):
    gid = scim.post("/Groups", group_body("Ops", users[:2])).get_json()["id"]
    team_service.grant_role(account, _team("Ops"), admin_role)  # an admin's grant, after SCIM linked the team
    db.session.commit()
    before = scim.get(f"/Groups/{gid}").get_json()
    method, body = _member_changes(users)[change]
    _refused(scim.request(method, f"/Groups/{gid}", body), 0)
    # nothing half-written: the same members, name and link; no scim.group.* event beyond the creation
    assert scim.get(f"/Groups/{gid}").get_json() == before
    assert _memberships(_team("Ops")) == [("u0@acme.test", "scim"), ("u1@acme.test", "scim")]
    assert [e.event_type for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type.like("scim.group.%")))] == ["scim.group.created"]


def test_an_admin_team_still_takes_a_rename_and_unchanged_members_and_other_roles_do_not_stop_scim(
        scim, account, users):
    gid = scim.post("/Groups", group_body("Ops", users[:2])).get_json()["id"]
    team_service.grant_role(account, _team("Ops"), "Account admin")
    db.session.commit()
    # Okta repeats the members it already pushed, and renames: no membership changes, so accepted
    body = group_body("Operations", users[:2])
    assert scim.put(f"/Groups/{gid}", body).status_code == 200
    assert scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members", "value": [{"value": users[0]}]})
                      ).status_code == 204
    assert _team("Operations").id is not None and _events("scim.request.refused") == []
    # a role short of Account admin permissions does not stop SCIM
    gid2 = scim.post("/Groups", group_body("Devs", users[:1])).get_json()["id"]
    team_service.grant_role(account, _team("Devs"), "Developer")
    db.session.commit()
    assert scim.patch(f"/Groups/{gid2}", patch_op({"op": "add", "path": "members", "value": [{"value": users[3]}]})
                      ).status_code == 204
    assert ("u3@acme.test", "scim") in _memberships(_team("Devs"))
    # once the role is revoked from the team, SCIM manages its members again
    team_service.revoke_role(account, _team("Operations"), "Account admin")
    db.session.commit()
    assert scim.delete(f"/Groups/{gid}").status_code == 204
