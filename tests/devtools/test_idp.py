"""The local test IdP web app (devtools.idp) signs a newcomer into the portal end to end."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

from devtools import idp as devidp
from portal.extensions import db
from portal.models import User


def test_local_idp_signs_into_the_wired_account(client, account, tmp_path):
    keys = devidp.keypair(tmp_path / "keys")
    devidp.wire(account, 5001, keys)
    db.session.commit()
    assert devidp.keypair(tmp_path / "keys").cert_pem == keys.cert_pem  # generated once, then reused

    location = client.get("/login/saml/acme?next=/admin/users").headers["Location"]
    assert location.startswith("http://127.0.0.1:5001/sso?")
    browser = devidp.create_app(5001, keys).test_client()
    parts = urlsplit(location)
    form = browser.get(f"{parts.path}?{parts.query}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', form))
    fields = {k: unescape(v) for k, v in fields.items()}
    answer = browser.post("/sso", data={**fields, "email": "grace@acme.test", "first_name": "Grace",
                                        "last_name": "Hopper", "groups": "Eng, Ops"}).get_data(as_text=True)
    action = re.search(r'action="([^"]+)"', answer).group(1)
    posted = dict(re.findall(r'name="(SAMLResponse|RelayState)" value="([^"]*)"', answer))
    assert action == "https://portal.test/login/saml/acme/callback"

    response = client.post(urlsplit(action).path, data=posted)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    user = User.by_email("grace@acme.test")
    assert user.name == "Grace Hopper" and user.created_via == "sso"


def _form(page: str) -> tuple[str, dict]:
    """The action and hidden SAML fields of the IdP's "Continue to the portal" page."""
    action = unescape(re.search(r'action="([^"]+)"', page).group(1))
    return action, {k: unescape(v) for k, v in re.findall(r'name="(SAMLResponse|RelayState)" value="([^"]*)"', page)}


def test_clicking_the_app_tile_lands_signed_in_on_the_dashboard(client, account, tmp_path):
    keys = devidp.keypair(tmp_path / "keys")
    devidp.wire(account, 5001, keys)
    db.session.commit()
    browser = devidp.create_app(5001, keys, tiles=["https://portal.test/login/saml/acme"]).test_client()
    assert 'href="/tile/0"' in browser.get("/").get_data(as_text=True)
    assert "Default RelayState" in browser.get("/tile/0").get_data(as_text=True)  # not signed in at the IdP yet

    # Sign in at the IdP through the tile: it posts an unsolicited response, which the portal restarts.
    page = browser.post("/tile/0", data={"email": "grace@acme.test", "first_name": "Grace", "last_name": "Hopper",
                                         "groups": "Eng", "relay_state": "/admin/users"}).get_data(as_text=True)
    action, posted = _form(page)
    assert action == "https://portal.test/login/saml/acme/callback" and posted["RelayState"] == "/admin/users"
    restart = client.post(urlsplit(action).path, data=posted)
    assert restart.status_code == 303 and client.get("/").status_code == 302  # not signed in by the tile's post
    to_idp = client.get(restart.headers["Location"]).headers["Location"]
    assert to_idp.startswith("http://127.0.0.1:5001/sso?")

    # The IdP still has its session: it answers the SP-initiated request without a prompt.
    parts = urlsplit(to_idp)
    action, posted = _form(browser.get(f"{parts.path}?{parts.query}").get_data(as_text=True))
    done = client.post(urlsplit(action).path, data=posted)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/users"
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and "grace@acme.test" in dashboard.get_data(as_text=True)
    assert User.by_email("grace@acme.test").name == "Grace Hopper"


def test_local_idp_sends_entra_style_attributes(client, account, tmp_path):
    from portal.sso.setup import attributes

    keys = devidp.keypair(tmp_path / "keys")
    devidp.wire(account, 5001, keys)
    account.sso_config.auto_create_groups = True
    attributes.apply(account, "entra")
    db.session.commit()
    browser = devidp.create_app(5001, keys, attribute_style="entra").test_client()
    location = urlsplit(client.get("/login/saml/acme").headers["Location"])
    page = browser.get(f"{location.path}?{location.query}").get_data(as_text=True)
    fields = {k: unescape(v) for k, v in re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', page)}
    answer = browser.post("/sso", data={**fields, "email": "ada@acme.test", "first_name": "Ada",
                                        "last_name": "Lovelace", "groups": "Eng"}).get_data(as_text=True)
    action, posted = _form(answer)
    assert client.post(urlsplit(action).path, data=posted).status_code == 303
    user = User.by_email("ada@acme.test")
    assert user.name == "Ada Lovelace" and [t.name for t in user.teams] == ["Eng"]


def _sp_login(client, browser, email: str) -> tuple[str, dict]:
    """Start at the SP Initiation URL, sign in at the IdP's form: the "Continue to the portal" form."""
    location = urlsplit(client.get("/login/saml/acme").headers["Location"])
    page = browser.get(f"{location.path}?{location.query}").get_data(as_text=True)
    fields = {k: unescape(v) for k, v in re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', page)}
    answer = browser.post("/sso", data={**fields, "email": email, "first_name": "Ada", "last_name": "Lovelace",
                                        "groups": ""}).get_data(as_text=True)
    return _form(answer)


def _saml_xml(posted: dict) -> str:
    import base64

    return base64.b64decode(posted["SAMLResponse"]).decode()


def test_local_idp_encrypts_assertions_for_the_sp_certificate(client, account, tmp_path):
    keys = devidp.keypair(tmp_path / "keys")
    devidp.wire(account, 5001, keys, encrypt=True)  # turns on Want encrypted assertions: the SP key pair exists
    db.session.commit()
    assert account.sso_config.want_encrypted_assertions
    sp_cert = devidp.sp_certificate(account)
    browser = devidp.create_app(5001, keys, encrypt_for=sp_cert).test_client()
    assert "assertions encrypted" in browser.get("/").get_data(as_text=True)

    action, posted = _sp_login(client, browser, "ada@acme.test")
    xml = _saml_xml(posted)
    assert "EncryptedAssertion" in xml and "ada@acme.test" not in xml  # the NameID is inside the ciphertext
    response = client.post(urlsplit(action).path, data=posted)
    assert response.status_code == 303
    assert User.by_email("ada@acme.test").name == "Ada Lovelace"
    assert "ada@acme.test" in client.get("/").get_data(as_text=True)


def test_local_idp_encrypts_the_app_tiles_response_too(client, account, tmp_path):
    keys = devidp.keypair(tmp_path / "keys")
    devidp.wire(account, 5001, keys, encrypt=True)
    db.session.commit()
    browser = devidp.create_app(5001, keys, tiles=["https://portal.test/login/saml/acme"],
                                encrypt_for=devidp.sp_certificate(account)).test_client()
    page = browser.post("/tile/0", data={"email": "grace@acme.test", "groups": ""}).get_data(as_text=True)
    assert "EncryptedAssertion" in _saml_xml(_form(page)[1])


def test_local_idp_signs_with_its_second_key_during_a_rollover(client, account, tmp_path):
    from portal.sso.setup import settings

    keys = devidp.keypair(tmp_path / "keys")
    next_keys = devidp.keypair(tmp_path / "keys", "idp-next")
    assert next_keys.cert_pem != keys.cert_pem and (tmp_path / "keys" / "idp-next.crt").exists()
    assert devidp.keypair(tmp_path / "keys", "idp-next").cert_pem == next_keys.cert_pem  # kept, like the first
    devidp.wire(account, 5001, keys, next_keys=next_keys)
    db.session.commit()
    active = "".join(c.pem for c in settings.active_certificates(account)).replace("\n", "")
    assert len(settings.active_certificates(account)) == 2  # both active: a rotation under way
    assert keys.cert_b64 in active and next_keys.cert_b64 in active

    browser = devidp.create_app(5001, keys, signing_key=next_keys).test_client()
    metadata = browser.get("/metadata").get_data(as_text=True)
    assert metadata.count('use="signing"') == 2 and keys.cert_b64 in metadata and next_keys.cert_b64 in metadata
    action, posted = _sp_login(client, browser, "ada@acme.test")
    xml = _saml_xml(posted)
    assert next_keys.cert_b64 in xml and keys.cert_b64 not in xml  # signed (and embedded) with the second key
    assert client.post(urlsplit(action).path, data=posted).status_code == 303
    assert User.by_email("ada@acme.test") is not None


def test_idp_metadata_imports_into_the_portal(account, tmp_path):
    from portal.sso.setup import settings

    keys = devidp.keypair(tmp_path / "keys")
    metadata = devidp.create_app(5001, keys).test_client().get("/metadata").get_data(as_text=True)
    assert metadata.count('use="signing"') == 1
    settings.import_metadata(account, metadata)
    config = account.sso_config
    assert (config.idp_issuer, config.idp_login_url) == ("http://127.0.0.1:5001/idp", "http://127.0.0.1:5001/sso")
    assert len(settings.active_certificates(account)) == 1


def test_make_idp_flags_reach_the_wiring_and_the_app(monkeypatch, tmp_path):
    calls = {}

    def fake_wire_demo(port, keys, domain, host, *, wire_it, encrypt, next_keys):
        calls["wire"] = (wire_it, encrypt, next_keys)
        return "https://portal.test/login/saml/demo", "SP-CERT" if encrypt else None

    class FakeApp:
        def run(self, **kwargs):
            calls["run"] = kwargs

    def fake_create_app(port, keys, host, tiles, style, *, encrypt_for, signing_key):
        calls["app"] = (tiles, encrypt_for, signing_key)
        return FakeApp()

    monkeypatch.setattr(devidp, "wire_demo", fake_wire_demo)
    monkeypatch.setattr(devidp, "create_app", fake_create_app)
    devidp.main(["--wire-demo", "--encrypt", "--rollover", "--key-dir", str(tmp_path)])
    next_keys = devidp.keypair(tmp_path, "idp-next")
    assert calls["wire"] == (True, True, next_keys)
    assert calls["app"] == (["https://portal.test/login/saml/demo"], "SP-CERT", next_keys)

    calls.clear()
    devidp.main(["--key-dir", str(tmp_path)])  # no flags: no database, first key, no encryption
    assert "wire" not in calls and calls["app"] == ([], None, None)
