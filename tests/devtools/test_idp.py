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
