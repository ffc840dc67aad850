import json
import pytest
from portal.extensions import db
from portal.models import User, Team, TeamMembership
from tests.scim.helpers import USER, GROUP, PATCH, ERROR, okta_user, patch_op, group_body, filter_param

BAD = []


@pytest.fixture
def app_config():
    return {"SCIM_RATE_LIMIT": "100000 per second"}


@pytest.fixture(autouse=True)
def _clear():
    BAD.clear()


def safe(fn, label):
    try:
        return fn()
    except Exception as exc:
        BAD.append(f"['UNCAUGHT {type(exc).__name__}: {str(exc)[:150]}'] {label}")
        print("!! UNCAUGHT", label, type(exc).__name__, str(exc)[:150])
        return None


def chk(resp, label, expect=None):
    if resp is None:
        return None
    st = resp.status_code
    body = resp.get_data(as_text=True)
    problems = []
    if st >= 500:
        problems.append("5xx")
    if st >= 400:
        try:
            j = json.loads(body)
            if j.get("schemas") != [ERROR] or j.get("status") != str(st):
                problems.append("bad error shape")
        except Exception:
            problems.append("non-json error")
        if resp.mimetype != "application/scim+json":
            problems.append("mimetype " + str(resp.mimetype))
    if expect is not None and st not in (expect if isinstance(expect, tuple) else (expect,)):
        problems.append(f"expected {expect}")
    line = ascii(f"[{st}] {label} -> {body[:300]!r}")
    if problems:
        BAD.append(f"{problems} {line}")
    print(("!! " if problems else "   ") + line)
    return resp


from tests.scim import helpers as _h
_orig = _h.Scim.request


def _safe_request(self, method, path, body=None, raw=None, headers=None, **kw):
    try:
        return _orig(self, method, path, body, raw, headers, **kw)
    except Exception as exc:
        from portal.extensions import db as _db
        _db.session.rollback()
        BAD.append(f"['UNCAUGHT {type(exc).__name__}: {str(exc)[:150]}'] {method} {path} {str(body)[:80]!r} {str(raw)[:60]}")
        print(ascii(("!! UNCAUGHT", method, path, type(exc).__name__, str(exc)[:150])))
        return None


_h.Scim.request = _safe_request


def report():
    print("\n===== ANOMALIES =====")
    for b in BAD:
        print(ascii(b))
    import os
    name = os.environ.get("PYTEST_CURRENT_TEST", "x").split("::")[-1].split(" ")[0]
    with open(f"/tmp/scim_sweep/bad_{name}_{os.environ.get('PORTAL_TEST_DATABASE_URL') and 'pg' or 'sqlite'}.txt", "w") as fh:
        fh.write("\n".join(BAD))
    n = len(BAD)
    BAD.clear()
    assert not n


@pytest.fixture
def u1(scim):
    r = scim.post("/Users", okta_user("ada@acme.test"))
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["id"]


def test_user_bodies(scim, u1):
    weird = [None, 1, 1.5, True, [], {}, ["a"], {"a": 1}, "", " ", "x" * 100000, "a\x00b", "\ud800", "é" * 300]
    for key in ("userName", "name", "emails", "active", "externalId", "displayName", "schemas", "groups",
                "id", "meta", "password", "locale", "title"):
        for i, v in enumerate(weird):
            body = okta_user(f"p{i}{key.lower()}@acme.test")
            body[key] = v
            chk(scim.post("/Users", body), f"POST /Users {key}={str(v)[:40]!r}")
            body2 = okta_user("ada@acme.test")
            body2[key] = v
            chk(scim.put(f"/Users/{u1}", body2), f"PUT /Users {key}={str(v)[:40]!r}")
    for v in weird:
        body = okta_user("q@acme.test")
        body["name"] = {"givenName": v, "familyName": v}
        chk(scim.post("/Users", body), f"POST name.givenName={str(v)[:40]!r}")
        body = okta_user("q2@acme.test")
        body["emails"] = [{"value": v, "primary": True}]
        chk(scim.post("/Users", body), f"POST emails.value={str(v)[:40]!r}")
        body = okta_user("q3@acme.test")
        body["emails"] = [{"value": "q3@acme.test", "primary": v}]
        chk(scim.post("/Users", body), f"POST emails.primary={str(v)[:40]!r}")
    report()


def test_raw_bodies(scim, u1):
    raws = [b"", b"null", b"[]", b"1", b'"x"', b"{", b"\xff\xfe", b'{"userName": "\xff@acme.test"}',
            b"[" * 200000 + b"]" * 200000, b'{"a":' * 100000 + b"1" + b"}" * 100000,
            b'{"userName":"a@acme.test","userName":"b@acme.test"}', b'{"userName":"\\ud800@acme.test"}',
            b"\xef\xbb\xbf{}", b'{"userName": NaN}', b'{"userName": 1e999}', b'{"active": 1e99999}']
    for raw in raws:
        for m, p in (("POST", "/Users"), ("PUT", f"/Users/{u1}"), ("PATCH", f"/Users/{u1}"), ("POST", "/Groups")):
            chk(scim.request(m, p, raw=raw), f"{m} {p} raw={raw[:40]!r}")
    for ct in ("text/plain", "application/xml", "application/scim+json; charset=latin-1", "multipart/form-data",
               "application/x-www-form-urlencoded"):
        r = scim.client.open(scim.base + "/Users", method="POST", data=json.dumps(okta_user("ct@acme.test")),
                             headers=scim.headers(), content_type=ct)
        chk(r, f"POST ct={ct}")
    # Content-Length lies
    r = scim.client.open(scim.base + "/Users", method="POST", data=json.dumps(okta_user("cl@acme.test")),
                         headers={**scim.headers(), "Content-Length": "5"}, content_type="application/scim+json")
    chk(r, "POST CL=5")
    r = scim.client.open(scim.base + "/Users", method="POST", data=b'{}',
                         headers={**scim.headers(), "Content-Length": "99999999999"}, content_type="application/scim+json")
    chk(r, "POST CL=huge")
    r = scim.client.open(scim.base + "/Users", method="POST", data=b'{}',
                         headers={**scim.headers(), "Content-Length": "-1"}, content_type="application/scim+json")
    chk(r, "POST CL=-1")
    r = scim.client.open(scim.base + "/Users", method="POST", data=b'{}',
                         headers={**scim.headers(), "Content-Length": "abc"}, content_type="application/scim+json")
    chk(r, "POST CL=abc")
    report()



def test_filters(scim, u1):
    r = scim.post("/Groups", group_body("Eng", [u1]))
    assert r.status_code == 201
    attrs = ["userName", "externalId", "emails.value", "emails", "displayName", "id", "active", "meta.lastModified",
             "meta.created", "name.givenName", "name.familyName", "members", "members.value", "title", "groups",
             "urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:x:y:userName", "meta", "name"]
    vals = ['"x"', '"ada@acme.test"', '"2026-01-01T00:00:00Z"', '"0001-01-01T00:00:00+01:00"',
            '"9999-12-31T23:59:59-01:00"', '"0001-01-01"', '"not a date"', '"2026-13-45T99:99:99Z"', 'true', 'false',
            'null', '1', '-1', '99999999999999999999999', '1.5e308', '1e999', '"\\u0000"', '"a\\u0000b"', '"%"', '"_"',
            '"\\\\"', '"' + 'x' * 1500 + '"', '"\\ud800"', '"2026-01-01T00:00:00.123456789Z"', '"+002026-01-01T00:00:00Z"',
            '"2026-01-01T00:00:00+25:00"', '"2026-W01"', '"\u00e9"']
    ops = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ"]
    for res in ("/Users", "/Groups"):
        for a in attrs:
            chk(scim.get(f"{res}?filter=" + filter_param(f"{a} pr")), f"GET {res} filter={a} pr")
            for op in ops:
                for v in vals:
                    f = f"{a} {op} {v}"
                    chk(scim.get(f"{res}?filter=" + filter_param(f)), f"GET {res} filter={f[:80]}")
    extra = ['emails[type eq "work"]', 'emails[type eq "work" and value co "ada"]', 'emails[value pr]',
             'emails[primary eq true]', 'emails[primary eq "x"]', 'emails[display eq "x"]', 'emails[value gt 5]',
             'emails[not (value eq "x")]', 'emails[type eq "work"].value eq "x"',
             'members[value eq "x"]', 'members[display co "ada"]', 'members[value eq 1]', 'members[type eq "User"]',
             'members[foo eq "x"]', 'members[value eq "x" or value eq "y"]', 'members[members[value eq "x"]]',
             'not (userName eq "x")', 'not(not(not(active eq true)))', '(' * 300 + 'userName eq "x"' + ')' * 300,
             'not (' * 200 + 'userName eq "x"' + ')' * 200, ' or '.join(['userName eq "x"'] * 100),
             ' and '.join(['userName eq "x"'] * 100), 'userName eq "x" and', 'userName eq', 'eq "x"', 'userName',
             'userName eq "x\\"', 'userName eq \'x\'', 'userName eq "x" junk', '"x" eq userName', 'userName eq x',
             'userName eq "unterminated', 'a.b.c eq "x"', 'name.givenName.foo eq "x"', 'userName[value eq "x"]',
             'groups[value eq "x"]', 'groups.value eq "x"', 'id eq "\\u0000"', '\x00',
             'userName Eq "a"', 'userName eq "a"\n', 'userName  eq "a"', 'active eq "true"', 'active eq TRUE',
             'meta.lastModified gt "2026-01-01T00:00:00Z" and meta.lastModified lt "2030-01-01T00:00:00Z"',
             'displayName eq "Eng" and members[value eq "%s"]' % u1, 'members.display eq "ada@acme.test"',
             'members.value pr', 'members pr', 'members eq null', 'externalId eq null', 'externalId ne null',
             'meta.lastModified eq null', 'meta.lastModified gt null', 'active eq null', 'active pr',
             'meta.lastModified co "2026"', 'userName eq "a" or', 'urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"',
             'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"']
    for res in ("/Users", "/Groups"):
        for f in extra:
            chk(scim.get(f"{res}?filter=" + filter_param(f)), f"GET {res} filter={f[:80]!r}")
        for raw in ("%ff%fe", "%00", "%", "%zz", "userName%20eq%20%22%ED%A0%80%22", "userName+eq+%22a%22"):
            chk(scim.get(f"{res}?filter={raw}"), f"GET {res} filter raw {raw}")
    report()


def test_paging_attrs(scim, u1):
    r = scim.post("/Groups", group_body("Eng", [u1]))
    vals = ["0", "-1", "1", "2", "-99999999999999999999", "99999999999999999999", "9223372036854775807",
            "9223372036854775808", "2147483648", "1e3", "1.5", "abc", "", " 5", "1_000", "0x10", "\u0661", "١", "NaN",
            "%00", "+5", "5 ", "9" * 5000]
    for res in ("/Users", "/Groups"):
        for p in ("startIndex", "count"):
            for v in vals:
                chk(scim.get(f"{res}?{p}={v}"), f"GET {res}?{p}={v[:40]}")
        for v in ["99999999999999999999", "9223372036854775807", "9223372036854775808", "2147483648"]:
            chk(scim.get(f"{res}?startIndex={v}&count=0"), f"GET {res}?startIndex={v}&count=0")
            chk(scim.get(f"{res}?startIndex={v}&filter=" + filter_param('id pr')), f"GET {res}?startIndex={v}&filter")
    junk = ["", ",", ",,,", "userName", "USERNAME", "name.givenName", "emails.value", "members.value", "groups.display",
            "meta", "meta.location", "id", "schemas", "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:core:2.0:User", "a.b.c.d",
            "x" * 10000, "%00", "%ff", "[", "members[value eq \"x\"]", ".", "..", "name.", ".name"]
    gid = r.get_json()["id"]
    for path in ("/Users", f"/Users/{u1}", "/Groups", f"/Groups/{gid}", "/ServiceProviderConfig", "/Schemas"):
        for p in ("attributes", "excludedAttributes"):
            for v in junk:
                chk(scim.get(f"{path}?{p}={v}"), f"GET {path}?{p}={v[:40]}")
        chk(scim.get(f"{path}?attributes=userName&excludedAttributes=userName"), f"GET {path} both")
    # attributes on writes
    chk(scim.patch(f"/Groups/{gid}?attributes=members", patch_op({"op": "add", "path": "members", "value": [{"value": u1}]})), "PATCH group attributes")
    chk(scim.patch(f"/Groups/{gid}?excludedAttributes=x", patch_op({"op": "add", "path": "members", "value": [{"value": u1}]})), "PATCH group excluded")
    report()


def test_patch_user(scim, u1):
    weird = [None, 1, 1.5, True, False, [], {}, ["a"], [{}], [{"value": 1}], {"a": 1}, "", "x" * 5000, "a\x00b",
             "\ud800", "True", "FALSE", " true ", "yes", 0, {"value": "x"}, [{"value": "new@acme.test"}]]
    paths = [None, "userName", "externalId", "displayName", "name", "name.givenName", "name.familyName", "active",
             "emails", "emails.value", 'emails[type eq "work"].value', 'emails[type eq "work"]', 'emails[primary eq true]',
             'emails[type eq "home"].value', 'emails[value eq "ada@acme.test"].value', 'emails[type eq "work"].type',
             'emails[type eq].value', 'emails[', 'emails]', 'members[value eq "x"]', 'addresses[type eq "work"].locality',
             'phoneNumbers[type eq "work"].value', "id", "meta", "meta.lastModified", "schemas", "groups", "title",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
             "urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:x:y:z", "urn:", ":", ".", "a.b.c", "name.",
             "name.foo", "unknown", "x" * 3000, "userName eq \"x\"", "[", "]", "\"", "\\", "a b", "emails.value.x",
             "name[givenName eq \"x\"]", "name[givenName eq \"x\"].familyName", "\x00", "\ud800", " ", "roles[value eq \"x\"]"]
    for op in ("add", "replace", "remove", "Replace", "REMOVE", "copy", "", None, 1, ["add"]):
        for path in paths:
            for v in weird:
                o = {"op": op, "value": v}
                if path is not None:
                    o["path"] = path
                chk(scim.patch(f"/Users/{u1}", patch_op(o)), f"PATCH user op={op!r} path={str(path)[:50]!r} value={str(v)[:30]!r}")
    # no-path objects
    for key in ("userName", "name", "name.givenName", "emails", "active", "", " ", "[", "x" * 3000,
                "urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                'emails[type eq "work"].value', "id", "meta", "\x00", "a.b.c", "name.foo", "members"):
        for v in weird:
            chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "value": {key: v}})), f"PATCH user nopath {key[:30]!r}={str(v)[:30]!r}")
    # name sub keys
    for k in ("", " ", "bad key!", "a.b", "[x]", "\x00", "x" * 500, "givenName", "GIVENNAME", "formatted"):
        chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "name", "value": {k: "x"}})), f"PATCH name subkey {k[:20]!r}")
        chk(scim.patch(f"/Users/{u1}", patch_op({"op": "add", "value": {"name": {k: "x"}}})), f"PATCH nopath name subkey {k[:20]!r}")
    # PatchOp envelope
    for body in [{}, {"Operations": None}, {"Operations": {}}, {"Operations": "x"}, {"Operations": [None]},
                 {"Operations": [[]]}, {"schemas": "x", "Operations": []}, {"schemas": [1, None], "Operations": [{"op": "add", "value": {}}]},
                 {"schemas": [{"a": 1}], "Operations": [{"op": "add", "value": {}}]},
                 {"Operations": [{"op": "add", "path": 1, "value": "x"}]}, {"Operations": [{"op": "add", "path": ["a"], "value": "x"}]},
                 {"Operations": [{"op": "add", "path": {"a": 1}, "value": "x"}]}, {"Operations": [{"op": "add", "value": {}}] * 20000},
                 {"Operations": [{"op": "replace", "path": "active", "value": False}], "operations": "x"}]:
        chk(scim.patch(f"/Users/{u1}", body), f"PATCH user body={str(body)[:80]}")
    report()


def test_groups(scim, other_scim, u1):
    o = other_scim.post("/Users", okta_user("eve@globex.test", external_id="x2"))
    assert o.status_code == 201
    other_uid = o.get_json()["id"]
    og = other_scim.post("/Groups", group_body("GlobexTeam", [other_uid])).get_json()["id"]
    g = scim.post("/Groups", group_body("Eng", [u1]))
    assert g.status_code == 201
    gid = g.get_json()["id"]
    # cross account
    chk(scim.post("/Groups", group_body("X1", [other_uid])), "POST group with other account member", 400)
    chk(scim.put(f"/Groups/{gid}", group_body("Eng", [other_uid])), "PUT group other member", 400)
    chk(scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members", "value": [{"value": other_uid}]})), "PATCH add other member", 400)
    chk(scim.patch(f"/Groups/{gid}", patch_op({"op": "remove", "path": f'members[value eq "{other_uid}"]'})), "PATCH remove other member")
    chk(scim.get(f"/Groups/{og}"), "GET other group", 404)
    chk(scim.patch(f"/Groups/{og}", patch_op({"op": "add", "path": "members", "value": [{"value": u1}]})), "PATCH other group", 404)
    chk(scim.delete(f"/Groups/{og}"), "DELETE other group", 404)
    chk(scim.put(f"/Groups/{og}", group_body("Hack")), "PUT other group", 404)
    chk(scim.get(f"/Users/{other_uid}"), "GET other user", 404)
    chk(scim.put(f"/Users/{other_uid}", okta_user("eve@globex.test")), "PUT other user", 404)
    chk(scim.patch(f"/Users/{other_uid}", patch_op({"op": "replace", "path": "active", "value": False})), "PATCH other user", 404)
    chk(scim.delete(f"/Users/{other_uid}"), "DELETE other user", 404)
    r = chk(scim.get("/Groups?filter=" + filter_param(f'members[value eq "{other_uid}"]')), "filter other member")
    assert r.get_json()["totalResults"] == 0
    r = chk(other_scim.get(f"/Groups/{og}"), "other group intact")
    assert [m["value"] for m in r.get_json()["members"]] == [other_uid]
    chk(scim.get("/Users?filter=" + filter_param('userName eq "eve@globex.test"')), "filter other user")
    assert scim.get("/Users?filter=" + filter_param('userName eq "eve@globex.test"')).get_json()["totalResults"] == 0
    # token of other account on this URL
    r = scim.client.get(scim.base + "/Users", headers={"Authorization": f"Bearer {other_scim.token}"})
    chk(r, "other token", 401)
    # odd groups bodies
    weird = [None, 1, True, [], {}, ["a"], {"a": 1}, "", " ", "x" * 201, "x" * 100000, "a\x00b", "\ud800", "İ" * 150,
             "ß" * 200, "\u200b", "\t\n", "ǅ" * 200]
    for key in ("displayName", "externalId", "members", "schemas", "id", "meta"):
        for i, v in enumerate(weird):
            b = group_body(f"G{i}{key}", [u1])
            b[key] = v
            chk(scim.post("/Groups", b), f"POST /Groups {key}={str(v)[:30]!r}")
            b = group_body("Eng", [u1])
            b[key] = v
            chk(scim.put(f"/Groups/{gid}", b), f"PUT /Groups {key}={str(v)[:30]!r}")
    for m in [[None], [1], ["x"], [{}], [{"value": None}], [{"value": 1}], [{"value": ""}], [{"value": "x" * 5000}],
              [{"value": "\x00"}], [{"value": "\ud800"}], [{"value": u1}] * 3, [{"value": u1, "display": 1}],
              [{"value": "' OR 1=1 --"}], [{"value": ["a"]}], [{"value": {"a": 1}}]]:
        chk(scim.post("/Groups", {"schemas": [GROUP], "displayName": "M" + str(len(str(m))), "members": m}), f"POST group members={str(m)[:40]}")
        chk(scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members", "value": m})), f"PATCH add members={str(m)[:40]}")
        chk(scim.patch(f"/Groups/{gid}", patch_op({"op": "remove", "path": "members", "value": m})), f"PATCH remove members={str(m)[:40]}")
    gpaths = [None, "members", 'members[value eq "x"]', f'members[value eq "{u1}"]', 'members[value eq "x" or value eq "y"]',
              'members[value eq "x" and value eq "y"]', 'members[display eq "x"]', 'members[value ne "x"]', 'members[value eq 1]',
              'members[value eq null]', 'members[not (value eq "x")]', 'members[value pr]', 'members[value eq "x"].value',
              'members[value eq "\\u0000"]', 'members[value eq "\\ud800"]', 'members[value eq', 'members[', 'members.value',
              'members.display', "displayName", "externalId", "id", "meta", "meta.version", "schemas", "unknown",
              "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "urn:x:displayName", "x" * 3000, "\x00", "]"]
    for op in ("add", "replace", "remove", "Add"):
        for path in gpaths:
            for v in [None, "x", 1, [], {}, [{"value": u1}], [{"value": "nope"}], {"displayName": "New"},
                      {"members": [{"value": u1}]}, {"displayName": 5}, {"id": gid}, {"id": "other"}, "x" * 300, "\ud800", "a\x00b",
                      {"externalId": "x" * 300}, {"displayName": "İ" * 150}]:
                o = {"op": op, "value": v}
                if path is not None:
                    o["path"] = path
                chk(scim.patch(f"/Groups/{gid}", patch_op(o)), f"PATCH group op={op} path={str(path)[:40]!r} value={str(v)[:30]!r}")
    # group still sane
    chk(scim.get(f"/Groups/{gid}"), "final group")
    report()


def test_misc(scim, u1):
    gid = scim.post("/Groups", group_body("Eng", [u1])).get_json()["id"]
    paths = ["", "/", "/Users/", "/Users//", f"/Users/{u1}/", f"/Users/{u1}/x", "/Users/x" * 50, "/users", "/USERS",
             "/Groups/", f"/Groups/{gid}/", "/Me", "/Bulk", "/.search", "/Users/.search", "/ServiceProviderConfig/",
             "/ServiceProviderConfigs", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "/Schemas/x",
             "/ResourceTypes/User", "/ResourceTypes/x", "/ResourceTypes/User/x", "/Users/" + "a" * 10000,
             "/Users/' OR 1=1 --", "/Users/%00", "/Users/%ff", "/Users/%2e%2e", "/Users/..", "/Users/%2F", "/Users/é",
             "/Users/null", "/Users/1", "/Users/-1", "/Users/" + "9" * 30, "/Groups/%00", "/Groups/" + "a" * 10000]
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"):
        for p in paths:
            body = {} if m in ("POST", "PUT", "PATCH") else None
            r = scim.request(m, p, body)
            if r is not None and m == "HEAD":
                if r.status_code >= 500:
                    BAD.append(f"HEAD {p} {r.status_code}")
                continue
            chk(r, f"{m} {p[:60]}")
    # 413
    r = scim.request("POST", "/Users", raw=b" " * (1024 * 1024 + 10))
    chk(r, "413", 413)
    r = scim.request("PATCH", f"/Users/{u1}", raw=b"{" + b" " * (1024 * 1024 + 10))
    chk(r, "413 patch", 413)
    # auth oddities
    for h in ["", "Bearer", "Bearer ", "Bearer x", "bearer " + scim.token, "Basic " + scim.token, "Bearer " + scim.token + " x",
              "Bearer " + "x" * 100000, "Bearer \x00", "Bearer é", "Bearer  " + scim.token]:
        r = scim.client.get(scim.base + "/Users", headers={"Authorization": h})
        chk(r, f"auth {h[:30]!r}")
    for dom in ("nope", "ACME", "acme.", "a" * 1000, "%00", "é"):
        r = scim.client.get(f"/scim/v2/{dom}/Users", headers=scim.headers())
        chk(r, f"domain {dom[:20]}")
    r = scim.client.get("/scim/v2/", headers=scim.headers())
    print("GET /scim/v2/", r.status_code, r.mimetype)
    r = scim.client.get("/scim/v2", headers=scim.headers())
    print("GET /scim/v2", r.status_code, r.mimetype)
    r = scim.client.get("/scim/v2/acme/Users?filter=" + filter_param('userName eq "x"') + "&filter=" + filter_param("bad bad"), headers=scim.headers())
    chk(r, "dup filter")
    report()


def test_focus(scim, u1):
    import traceback
    cases = [
        ("PATCH", f"/Users/{u1}", patch_op({"op": "replace", "path": "name", "value": {"bad key!": "x"}})),
        ("PATCH", f"/Users/{u1}", patch_op({"op": "replace", "path": "userName", "value": "\ud800@acme.test"})),
        ("PATCH", f"/Users/{u1}", patch_op({"op": "replace", "path": "emails", "value": [{"value": "\ud800"}]})),
        ("POST", "/Users", okta_user("\ud800x@acme.test")),
    ]
    for m, p, b in cases:
        try:
            r = scim.request.__wrapped__(scim, m, p, b) if hasattr(scim.request, "__wrapped__") else _orig(scim, m, p, b)
            print("RESULT", m, p, r.status_code, r.mimetype, ascii(r.get_data(as_text=True)[:300]))
        except Exception:
            db.session.rollback()
            print("EXC", m, p, ascii(traceback.format_exc()[-1500:]))
    from portal.models import AuditEvent


def test_deep_and_halfwrite(scim, u1):
    deep = 1
    for _ in range(900):
        deep = {"a": deep}
    b = okta_user("deep@acme.test")
    b["title"] = deep
    chk(scim.post("/Users", b), "POST deep title")
    b = okta_user("deep2@acme.test")
    b["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"manager": deep}
    b["schemas"] = [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    chk(scim.post("/Users", b), "POST deep enterprise")
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "value": {"title": deep}})), "PATCH deep title")
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "name", "value": deep})), "PATCH deep name")
    lst = []
    for _ in range(900):
        lst = [lst]
    chk(scim.post("/Groups", {"schemas": [GROUP], "displayName": "D", "members": lst}), "POST group deep members")
    # half write: first op fine, second op refused
    gid = scim.post("/Groups", group_body("Eng", [u1])).get_json()["id"]
    chk(scim.patch(f"/Groups/{gid}", patch_op({"op": "replace", "path": "displayName", "value": "Renamed"},
                                             {"op": "add", "path": "members", "value": [{"value": "nope"}]})), "half group", 400)
    assert scim.get(f"/Groups/{gid}").get_json()["displayName"] == "Eng"
    scim.post("/Users", okta_user("taken@acme.test", external_id="t"))
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "displayName", "value": "Changed"},
                                           {"op": "replace", "path": "userName", "value": "taken@acme.test"})), "half user", 409)
    assert scim.get(f"/Users/{u1}").get_json()["displayName"] == "Ada Lovelace"
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "active", "value": False},
                                           {"op": "replace", "path": "name", "value": {"bad key!": "x"}})), "half user 2")
    assert scim.get(f"/Users/{u1}").get_json()["active"] is True
    for m in ("HEAD", "OPTIONS"):
        for p in ("/Users", f"/Users/{u1}", "/ServiceProviderConfig"):
            r = scim.request(m, p)
            print("METHOD", m, p, r.status_code, r.mimetype, r.headers.get("Allow"), len(r.get_data()))
    report()


def test_contract(scim, other_scim, u1):
    other_scim.post("/Users", okta_user("eve@globex.test", external_id="x2"))
    chk(scim.post("/Users", okta_user("EVE@globex.test")), "POST other account email upper", 409)
    chk(scim.put(f"/Users/{u1}", okta_user("Eve@Globex.Test")), "PUT to other account email", 409)
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "userName", "value": " eve@globex.test "})), "PATCH to other email", 409)
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "value": {"emails": [{"value": "eve@globex.test", "primary": True}]}})), "PATCH primary email other", 409)
    b = okta_user("ada@acme.test"); b["id"] = "other"
    chk(scim.put(f"/Users/{u1}", b), "PUT mismatched id", 400)
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "id", "value": "zz"})), "PATCH id", 400)
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "value": {"id": u1, "active": False}})), "PATCH own id", 200)
    chk(scim.patch(f"/Users/{u1}", patch_op({"op": "Replace", "path": "active", "value": "True"})), "Entra active", 200)
    g1 = scim.post("/Groups", group_body("One")).get_json()["id"]
    scim.post("/Groups", group_body("Two"))
    chk(scim.patch(f"/Groups/{g1}", patch_op({"op": "replace", "path": "displayName", "value": " two "})), "rename to linked", 409)
    chk(scim.post("/Groups", group_body("ONE")), "dup group", 409)
    b = group_body("One"); b["id"] = "x"
    chk(scim.put(f"/Groups/{g1}", b), "PUT group mismatched id", 400)
    r = chk(scim.get("/Users?count=100000"), "count cap")
    r = chk(scim.get("/Users?filter=" + filter_param('meta.lastModified gt "2000-01-01T00:00:00Z"')), "lastmod")
    print("lastmod total", r.get_json()["totalResults"])
    report()


def test_paging_correct(scim, u1):
    for i in range(6):
        assert scim.post("/Users", okta_user(f"pg{i}@acme.test", external_id=f"e{i}")).status_code == 201
    full = [u["id"] for u in scim.get("/Users?count=200").get_json()["Resources"]]
    assert len(full) == 8
    for f in (None, 'userName sw "pg"', 'not (userName sw "pg")'):
        q = ("&filter=" + filter_param(f)) if f else ""
        allf = [u["id"] for u in scim.get("/Users?count=200" + q).get_json()["Resources"]]
        for start in range(0, 11):
            for count in range(0, 10):
                j = scim.get(f"/Users?startIndex={start}&count={count}{q}").get_json()
                s = max(1, start)
                exp = allf[s - 1:s - 1 + count]
                got = [u["id"] for u in j["Resources"]]
                if got != exp or j["totalResults"] != len(allf) or j["itemsPerPage"] != len(got):
                    BAD.append(f"paging f={f} start={start} count={count} got={len(got)} exp={len(exp)} total={j['totalResults']}/{len(allf)}")
    report()


def test_repro(scim, u1):
    gid = scim.post("/Groups", group_body("Eng", [u1])).get_json()["id"]
    def show(label, r):
        if r is None:
            print("REPRO", label, "UNCAUGHT (see BAD)")
        else:
            print("REPRO", label, r.status_code, r.mimetype, ascii(r.get_data(as_text=True)[:160]))
    b = okta_user("long@acme.test"); b["externalId"] = "x" * 256
    show("POST /Users externalId*256", scim.post("/Users", b))
    show("POST /Groups İ*150", scim.post("/Groups", group_body("\u0130" * 150)))
    show("PATCH /Groups displayName İ*150", scim.patch(f"/Groups/{gid}", patch_op({"op": "replace", "path": "displayName", "value": "\u0130" * 150})))
    show("filter lastModified 0001+01", scim.get("/Users?filter=" + filter_param('meta.lastModified gt "0001-01-01T00:00:00+01:00"')))
    show("startIndex users", scim.get("/Users?startIndex=99999999999999999999"))
    show("startIndex groups", scim.get("/Groups?startIndex=99999999999999999999"))
    show("deep", scim.request("POST", "/Users", raw=b"[" * 100000))
    show("name subkey", scim.patch(f"/Users/{u1}", patch_op({"op": "replace", "path": "name", "value": {"bad key": "x"}})))
    show("displayName surrogate", scim.request("POST", "/Users", raw=b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"s@acme.test","displayName":"\\ud800"}'))
    show("userName surrogate", scim.request("POST", "/Users", raw=b'{"userName":"\\ud800@acme.test"}'))
    show("userName NUL", scim.request("POST", "/Users", raw=b'{"userName":"a\\u0000@acme.test"}'))
    show("displayName NUL", scim.request("POST", "/Users", raw=b'{"userName":"n@acme.test","displayName":"a\\u0000b"}'))
    show("filter NUL", scim.get("/Users?filter=" + filter_param('userName eq "a\\u0000"')))
    show("filter surrogate", scim.get("/Users?filter=" + filter_param('userName eq "\\ud800"')))
    show("GET /Users/%00", scim.get("/Users/%00"))
    show("POST /Users/%00", scim.request("POST", "/Users/%00", {}))
    show("members NUL", scim.patch(f"/Groups/{gid}", patch_op({"op": "add", "path": "members", "value": [{"value": "\x00"}]})))
    show("TRACE /Users", scim.request("TRACE", "/Users"))
    print(ascii(BAD))
