"""The test IdP (devtools/saml_idp.py, pysaml2) as a tiny local web app with a login form.

    .venv/bin/python -m devtools.idp --port 5001 --wire-demo

serves http://127.0.0.1:5001 and (with --wire-demo) points the demo account's SSO settings at it:
IdP Login URL, Identity Provider Issuer and IdP Signature Certificate, SSO enabled, auto-create users on.
Then open http://127.0.0.1:5000/login/saml/demo, type an email, and you land on the portal.
"""
from __future__ import annotations

import argparse
import base64
import html
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from flask import Flask, request

from devtools.saml_idp import KeyPair, TestIdp, make_keypair
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


def create_app(port: int, keys: KeyPair, host: str = "127.0.0.1") -> Flask:
    """The IdP web app: GET /sso shows the login form, POST /sso answers the portal.

    host is the name the browser uses for the IdP: "localhost" makes it another site than a portal on
    127.0.0.1, so the browser treats the IdP's post to the ACS as truly cross-site (SameSite rules apply).
    """
    base = f"http://{host}:{port}"
    idp = TestIdp(keys, issuer=f"{base}/idp", sso_url=f"{base}/sso")
    app = Flask(__name__)

    @app.get("/")
    def index():
        return PAGE.format(body=f"<h1>Local test IdP</h1><p>Issuer: <code>{idp.issuer}</code><br>Login URL: "
                                f"<code>{idp.sso_url}</code></p><p><a href='/certificate'>Signing certificate</a></p>")

    @app.get("/certificate")
    def certificate():
        return keys.cert_pem, 200, {"Content-Type": "text/plain"}

    @app.get("/sso")
    def sso_form():
        if "SAMLRequest" not in request.args:
            return PAGE.format(body="<p>Start at the portal's SP Initiation URL.</p>"), 400
        info = idp.receive(_sp_metadata(request.url), request.url)
        fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                         for k, v in request.args.items())
        return PAGE.format(body=f"""<h1>Sign in to {html.escape(info.sp_entity_id)}</h1>
<form method="post" action="/sso">{fields}
<p><label>Email<br><input name="email" value="admin@demo.test" size="40"></label></p>
<p><label>First name<br><input name="first_name" value="Demo"></label>
   <label>Last name<br><input name="last_name" value="Admin"></label></p>
<p><label>Groups (comma-separated)<br><input name="groups" value="Everyone, Engineering" size="40"></label></p>
<p><button type="submit">Sign in</button></p></form>""")

    @app.post("/sso")
    def sso_answer():
        url = f"{idp.sso_url}?" + "&".join(f"{k}={_quote(request.form[k])}"
                                            for k in ("SAMLRequest", "RelayState") if k in request.form)
        metadata = _sp_metadata(url)
        info = idp.receive(metadata, url)
        groups = [g.strip() for g in request.form.get("groups", "").split(",") if g.strip()]
        xml = idp.response(info, request.form["email"].strip(), sp_metadata=metadata, groups=groups,
                           first_name=request.form.get("first_name") or None,
                           last_name=request.form.get("last_name") or None)
        saml_response = base64.b64encode(xml.encode()).decode()
        relay = html.escape(info.relay_state or "")
        return PAGE.format(body=f"""<h1>Signed in at the test IdP</h1>
<form method="post" action="{html.escape(info.acs_url)}">
<input type="hidden" name="SAMLResponse" value="{saml_response}"><input type="hidden" name="RelayState" value="{relay}">
<p><button type="submit">Continue to the portal</button></p></form>""")

    return app


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
    args = parser.parse_args(argv)
    keys = keypair(args.key_dir)
    if args.wire_demo:
        start = wire_demo(args.port, keys, args.domain, args.host_name)
        print(f"Account '{args.domain}' now signs in through this IdP. Open {start}")
    create_app(args.port, keys, args.host_name).run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
