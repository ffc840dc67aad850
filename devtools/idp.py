"""The test IdP (devtools/saml_idp.py, pysaml2) as a tiny local web app with a login form.

    .venv/bin/python -m devtools.idp --port 5001 --wire-demo

serves http://127.0.0.1:5001 and (with --wire-demo) points the demo account's SSO settings at it:
IdP Login URL, Identity Provider Issuer and IdP Signature Certificate, SSO enabled, auto-create users on.
Then open http://127.0.0.1:5000/login/saml/demo, type an email, and you land on the portal.
Its home page also shows the account as an app tile (an IdP-initiated login, like Okta's dashboard);
after signing in there, the IdP keeps a session and answers the portal's AuthnRequests without a prompt.
"""
from __future__ import annotations

import argparse
import base64
import html
import secrets
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from flask import Flask, request, session

from devtools.saml_idp import ATTRIBUTE_STYLES, KeyPair, TestIdp, make_keypair
from portal import create_app as create_portal
from portal.extensions import db
from portal.models import Account
from portal.sso.setup import settings

KEY_DIR = Path("instance") / "devtools-idp"
SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="1"/>
</md:SPSSODescriptor></md:EntityDescriptor>"""
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local test IdP</title></head>
<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto">{body}</body></html>"""


def keypair(directory: Path = KEY_DIR) -> KeyPair:
    """The IdP's signing key, generated on first use and kept in instance/devtools-idp/."""
    key, cert = directory / "idp.key", directory / "idp.crt"
    if key.exists() and cert.exists():
        return KeyPair(str(key), str(cert), cert.read_text())
    return make_keypair(directory, "idp", "Portal local test IdP")


def create_app(port: int, keys: KeyPair, host: str = "127.0.0.1", tiles: list[str] | tuple = (),
               attribute_style: str = "okta") -> Flask:
    """The IdP web app: GET /sso shows the login form, POST /sso answers the portal; GET /tile/<n> is an app tile.

    host is the name the browser uses for the IdP: "localhost" makes it another site than a portal on
    127.0.0.1, so the browser treats the IdP's post to the ACS as truly cross-site (SameSite rules apply).
    tiles: SP Entity IDs of portal accounts ({BASE_URL}/login/saml/{domain}) shown as app tiles.
    attribute_style: "okta", "entra" or "google": the attribute names the IdP sends (saml_idp.ATTRIBUTE_STYLES).
    """
    base = f"http://{host}:{port}"
    idp = TestIdp(keys, issuer=f"{base}/idp", sso_url=f"{base}/sso")
    app = Flask(__name__)
    # Its own cookie name: the portal may run on the same host, and cookies do not tell ports apart.
    app.config.update(SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_NAME="devtools_idp_session")

    @app.get("/")
    def index():
        links = "".join(f'<li><a href="/tile/{n}">Portal app: {html.escape(entity_id)}</a></li>'
                        for n, entity_id in enumerate(tiles))
        who = session.get("user", {}).get("email")
        state = (f"<p>Signed in at the IdP as {html.escape(who)}. <a href='/logout'>Sign out</a></p>" if who else "")
        return PAGE.format(body=f"<h1>Local test IdP</h1>{state}<p>Issuer: <code>{idp.issuer}</code><br>Login URL: "
                                f"<code>{idp.sso_url}</code></p><p><a href='/certificate'>Signing certificate</a></p>"
                                + (f"<h2>Apps</h2><ul>{links}</ul>" if tiles else ""))

    @app.get("/logout")
    def logout():
        session.clear()
        return PAGE.format(body="<p>Signed out of the test IdP. <a href='/'>Home</a></p>")

    @app.route("/tile/<int:number>", methods=["GET", "POST"])
    def tile(number):
        if number >= len(tiles):
            return PAGE.format(body="<p>No such app.</p>"), 404
        if request.method == "POST":
            session["user"] = _person(request.form)
            session["relay_state"] = request.form.get("relay_state", "")
        if "user" not in session:
            return PAGE.format(body=_LOGIN_FORM.format(
                title=html.escape(tiles[number]), hidden="", action=f"/tile/{number}",
                relay='<p><label>Default RelayState<br><input name="relay_state" size="40"></label></p>'))
        metadata = SP_METADATA.format(entity_id=html.escape(tiles[number], quote=True),
                                      acs=html.escape(tiles[number] + "/callback", quote=True))
        form = idp.idp_initiated(metadata, relay_state=session.get("relay_state") or None,
                                 attribute_style=attribute_style, **session["user"])
        return _continue(tiles[number] + "/callback", form["SAMLResponse"], form.get("RelayState", ""))

    @app.get("/certificate")
    def certificate():
        return keys.cert_pem, 200, {"Content-Type": "text/plain"}

    @app.get("/sso")
    def sso_form():
        if "SAMLRequest" not in request.args:
            return PAGE.format(body="<p>Start at the portal's SP Initiation URL.</p>"), 400
        metadata = _sp_metadata(request.url)
        info = idp.receive(metadata, request.url)
        if "user" in session:  # signed in here already (e.g. through a tile): answer without a prompt, as Okta does
            xml = idp.response(info, sp_metadata=metadata, attribute_style=attribute_style, **session["user"])
            return _continue(info.acs_url, base64.b64encode(xml.encode()).decode(), info.relay_state or "")
        fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in request.args.items())
        return PAGE.format(body=_LOGIN_FORM.format(title=html.escape(info.sp_entity_id), hidden=fields,
                                                 action="/sso", relay=""))

    @app.post("/sso")
    def sso_answer():
        url = f"{idp.sso_url}?" + "&".join(f"{k}={_quote(request.form[k])}"
                                            for k in ("SAMLRequest", "RelayState") if k in request.form)
        metadata = _sp_metadata(url)
        info = idp.receive(metadata, url)
        xml = idp.response(info, sp_metadata=metadata, attribute_style=attribute_style, **_person(request.form))
        return _continue(info.acs_url, base64.b64encode(xml.encode()).decode(), info.relay_state or "")

    return app


_LOGIN_FORM = """<h1>Sign in to {title}</h1>
<form method="post" action="{action}">{hidden}
<p><label>Email<br><input name="email" value="admin@demo.test" size="40"></label></p>
<p><label>First name<br><input name="first_name" value="Demo"></label>
   <label>Last name<br><input name="last_name" value="Admin"></label></p>
<p><label>Groups (comma-separated)<br><input name="groups" value="Everyone, Engineering" size="40"></label></p>
{relay}<p><button type="submit">Sign in</button></p></form>"""


def _person(form) -> dict:
    """Who signs in, from the IdP's login form (TestIdp.response() keyword arguments)."""
    return {"email": form["email"].strip(), "first_name": form.get("first_name") or None,
            "last_name": form.get("last_name") or None,
            "groups": [g.strip() for g in form.get("groups", "").split(",") if g.strip()]}


def _continue(acs_url: str, saml_response: str, relay_state: str) -> str:
    """The HTTP-POST binding page: a button posting the Response to the ACS (no script needed)."""
    return PAGE.format(body=f"""<h1>Signed in at the test IdP</h1>
<form method="post" action="{html.escape(acs_url)}">
<input type="hidden" name="SAMLResponse" value="{saml_response}">
<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">
<p><button type="submit">Continue to the portal</button></p></form>""")


def _quote(value: str) -> str:
    return quote(value, safe="")


def _sp_metadata(redirect_url: str) -> str:
    """Minimal SP metadata from the AuthnRequest itself, so the IdP needs no copy of the portal's."""
    from saml2 import samlp  # after devtools.saml_idp, which silences pysaml2's import-time warning
    from saml2.s_utils import decode_base64_and_inflate

    encoded = parse_qs(urlsplit(redirect_url).query)["SAMLRequest"][0]
    message = samlp.authn_request_from_string(decode_base64_and_inflate(encoded))
    return SP_METADATA.format(entity_id=html.escape(message.issuer.text, quote=True),
                              acs=html.escape(message.assertion_consumer_service_url, quote=True))


def wire(account: Account, port: int, keys: KeyPair, host: str = "127.0.0.1") -> None:
    """Point account's SSO settings at the local IdP on port, through the same service as the settings page."""
    settings.apply(account, settings.SettingsChange(
        idp_login_url=f"http://{host}:{port}/sso", idp_issuer=f"http://{host}:{port}/idp",
        replace_certificates=[keys.cert_pem], auto_create_users=True, enabled=True))


def wire_demo(port: int, keys: KeyPair, domain: str = "demo", host: str = "127.0.0.1") -> str:
    """wire() the demo account using the portal's own configuration (instance/, PORTAL_*); its SP Initiation URL."""
    portal = create_portal()
    with portal.app_context():
        account = Account.by_domain(domain)
        if account is None:
            raise SystemExit(f"devtools.idp: no account '{domain}'; run `flask demo setup` (or `make run`) first")
        wire(account, port, keys, host)
        db.session.commit()
        return f"{portal.config['BASE_URL']}/login/saml/{domain}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.idp", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--wire-demo", action="store_true", help="point the demo account's SSO settings at this IdP")
    parser.add_argument("--domain", default="demo", help="account to wire with --wire-demo (default: demo)")
    parser.add_argument("--key-dir", type=Path, default=KEY_DIR, help=f"signing key folder (default: {KEY_DIR})")
    parser.add_argument("--host-name", default="127.0.0.1",
                        help="name of this IdP in its URLs (default 127.0.0.1; it always listens on 127.0.0.1)")
    parser.add_argument("--tile", action="append", default=[], metavar="SP_ENTITY_ID",
                        help="show an app tile (IdP-initiated login) for this portal account's SP Entity ID")
    parser.add_argument("--attribute-style", choices=sorted(ATTRIBUTE_STYLES), default="okta",
                        help="send the attribute names of this IdP (default okta; entra, google)")
    args = parser.parse_args(argv)
    keys = keypair(args.key_dir)
    if args.wire_demo:
        start = wire_demo(args.port, keys, args.domain, args.host_name)
        print(f"Account '{args.domain}' now signs in through this IdP. Open {start}")
        args.tile.append(start)  # the SP Initiation URL is also the SP Entity ID
    create_app(args.port, keys, args.host_name, args.tile, args.attribute_style).run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
