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
