"""The test IdP (devtools/saml_idp.py, pysaml2) as a tiny local web app with a login form.

    .venv/bin/python -m devtools.idp --port 5001 --wire-demo

serves http://127.0.0.1:5001 and (with --wire-demo) points the demo account's SSO settings at it:
IdP Login URL, Identity Provider Issuer and IdP Signature Certificate, SSO enabled, auto-create users on.
Then open http://127.0.0.1:5000/login/saml/demo, type an email, and you land on the portal.
--encrypt encrypts every assertion for the account's SP certificate (read from the portal's database, as an
IdP admin would upload it; with --wire-demo it also turns on Want encrypted assertions, creating the SP key pair).
--rollover signs with a second key (idp-next.key next to idp.key); --wire-demo then makes both certificates
active on the account, and /metadata lists both, so an admin can try a certificate rotation locally.
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
from portal.models import SP_KEY_CURRENT, Account
from portal.sso import sp_keys
from portal.sso.setup import settings

KEY_DIR = Path("instance") / "devtools-idp"
SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="1"/>
</md:SPSSODescriptor></md:EntityDescriptor>"""
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local test IdP</title></head>
<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto">{body}</body></html>"""


IDP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
 xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{issuer}">
<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
{keys}<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>
</md:IDPSSODescriptor></md:EntityDescriptor>"""
KEY_DESCRIPTOR = """<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
"""


def keypair(directory: Path = KEY_DIR, name: str = "idp") -> KeyPair:
    """An IdP signing key, generated on first use and kept in instance/devtools-idp/ ("idp", or "idp-next")."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    if key.exists() and cert.exists():
        return KeyPair(str(key), str(cert), cert.read_text())
    label = "Portal local test IdP" + (" (next key)" if name != "idp" else "")
    return make_keypair(directory, name, label)


def create_app(port: int, keys: KeyPair, host: str = "127.0.0.1", tiles: list[str] | tuple = (),
               attribute_style: str = "okta", encrypt_for: str | None = None,
               signing_key: KeyPair | None = None) -> Flask:
    """The IdP web app: GET /sso shows the login form, POST /sso answers the portal; GET /tile/<n> is an app tile.

    host is the name the browser uses for the IdP: "localhost" makes it another site than a portal on
    127.0.0.1, so the browser treats the IdP's post to the ACS as truly cross-site (SameSite rules apply).
    tiles: SP Entity IDs of portal accounts ({BASE_URL}/login/saml/{domain}) shown as app tiles.
    attribute_style: "okta", "entra" or "google": the attribute names the IdP sends (saml_idp.ATTRIBUTE_STYLES).
    encrypt_for: the SP certificate PEM; every Assertion is then encrypted for it (an EncryptedAssertion).
    signing_key: sign with this key instead of keys (a rollover); /metadata and /certificate list both.
    """
    base = f"http://{host}:{port}"
    idp = TestIdp(keys, issuer=f"{base}/idp", sso_url=f"{base}/sso")
    certificates = [keys] + ([signing_key] if signing_key and signing_key.cert_pem != keys.cert_pem else [])
    options = {"attribute_style": attribute_style, "encrypt_for": encrypt_for, "key": signing_key or keys}
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
                                f"<code>{idp.sso_url}</code></p><p><a href='/certificate'>Signing certificate</a>"
                                f"{'s' if len(certificates) > 1 else ''} · <a href='/metadata'>Metadata</a>"
                                + (" · assertions encrypted" if encrypt_for else "") + "</p>"
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
                                 **options, **session["user"])
        return _continue(tiles[number] + "/callback", form["SAMLResponse"], form.get("RelayState", ""))

    @app.get("/certificate")
    def certificate():
        return "".join(k.cert_pem for k in certificates), 200, {"Content-Type": "text/plain"}

    @app.get("/metadata")
    def metadata():
        descriptors = "".join(KEY_DESCRIPTOR.format(cert=k.cert_b64) for k in certificates)
        xml = IDP_METADATA.format(issuer=html.escape(idp.issuer, quote=True), keys=descriptors,
                                  sso=html.escape(idp.sso_url, quote=True))
        return xml, 200, {"Content-Type": "application/samlmetadata+xml"}

    @app.get("/sso")
    def sso_form():
        if "SAMLRequest" not in request.args:
            return PAGE.format(body="<p>Start at the portal's SP Initiation URL.</p>"), 400
        metadata = _sp_metadata(request.url)
        info = idp.receive(metadata, request.url)
        if "user" in session:  # signed in here already (e.g. through a tile): answer without a prompt, as Okta does
            xml = idp.response(info, sp_metadata=metadata, **options, **session["user"])
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
        xml = idp.response(info, sp_metadata=metadata, **options, **_person(request.form))
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


def wire(account: Account, port: int, keys: KeyPair, host: str = "127.0.0.1", *, encrypt: bool = False,
         next_keys: KeyPair | None = None) -> None:
    """Point account's SSO settings at the local IdP on port, through the same service as the settings page.

    encrypt: also turn on Want encrypted assertions (the service creates the account's SP key pair).
    next_keys: the IdP's second signing key; both certificates become active (a rotation under way).
    """
    certificates = [keys.cert_pem] + ([next_keys.cert_pem] if next_keys else [])
    settings.apply(account, settings.SettingsChange(
        idp_login_url=f"http://{host}:{port}/sso", idp_issuer=f"http://{host}:{port}/idp",
        replace_certificates=certificates, auto_create_users=True, enabled=True,
        want_encrypted_assertions=True if encrypt else None))


def sp_certificate(account: Account) -> str:
    """The account's current SP certificate PEM (what an IdP admin uploads as the Encryption Certificate)."""
    current = sp_keys.keys(account).get(SP_KEY_CURRENT)
    if current is None:
        raise SystemExit(f"devtools.idp: account '{account.domain}' has no SP key pair yet; turn on Want "
                         "encrypted assertions (or run with --wire-demo --encrypt)")
    return current.cert_pem


def wire_demo(port: int, keys: KeyPair, domain: str = "demo", host: str = "127.0.0.1", *, wire_it: bool = True,
              encrypt: bool = False, next_keys: KeyPair | None = None) -> tuple[str, str | None]:
    """wire() the demo account using the portal's own configuration (instance/, PORTAL_*).

    Returns its SP Initiation URL and, with encrypt, its SP certificate; wire_it=False only reads the certificate.
    """
    portal = create_portal()
    with portal.app_context():
        account = Account.by_domain(domain)
        if account is None:
            raise SystemExit(f"devtools.idp: no account '{domain}'; run `flask demo setup` (or `make run`) first")
        if wire_it:
            wire(account, port, keys, host, encrypt=encrypt, next_keys=next_keys)
            db.session.commit()
        return f"{portal.config['BASE_URL']}/login/saml/{domain}", sp_certificate(account) if encrypt else None


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
    parser.add_argument("--encrypt", action="store_true",
                        help="encrypt every assertion for the account's SP certificate (with --wire-demo: also "
                             "turn on Want encrypted assertions)")
    parser.add_argument("--rollover", action="store_true",
                        help="sign with a second key (idp-next in the key folder); --wire-demo activates both")
    args = parser.parse_args(argv)
    keys = keypair(args.key_dir)
    next_keys = keypair(args.key_dir, "idp-next") if args.rollover else None
    sp_cert = None
    if args.wire_demo or args.encrypt:
        start, sp_cert = wire_demo(args.port, keys, args.domain, args.host_name, wire_it=args.wire_demo,
                                   encrypt=args.encrypt, next_keys=next_keys)
    if args.wire_demo:
        print(f"Account '{args.domain}' now signs in through this IdP. Open {start}")
        args.tile.append(start)  # the SP Initiation URL is also the SP Entity ID
    create_app(args.port, keys, args.host_name, args.tile, args.attribute_style, encrypt_for=sp_cert,
               signing_key=next_keys).run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
