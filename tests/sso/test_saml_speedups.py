"""python3-saml speed-ups (portal/sso/saml_speedups.py) and the per-process caches of the ACS: the same answers
as stock python3-saml, installed by create_app only on the version they were written for, a clock skew per
validation, compiled XSD and XPath per thread, IdP certificates parsed into xmlsec keys once."""
from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import xmlsec
from lxml import etree
from onelogin.saml2 import utils as saml_utils
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from portal import create_app
from portal.extensions import db
from portal.sso import saml, saml_speedups
from portal.sso.setup import settings as sso_settings
from tests.helpers import make_config
from devtools.saml_idp import STATUS_RESPONDER, post_form
from tests.sso.helpers import sso_events

SCHEMA = "saml-schema-protocol-2.0.xsd"
INVALID = b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:Nope/></samlp:Response>'
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def speedups_restored(monkeypatch):
    """Whatever a test uninstalls or fakes, the next test starts with the speed-ups installed."""
    yield
    monkeypatch.undo()
    saml_speedups.install()


def is_stock() -> bool:
    """python3-saml's own functions and clock drift are in place (judged from python3-saml, not the module)."""
    return (OneLogin_Saml2_XML.validate_xml.__module__ == "onelogin.saml2.xml_utils"
            and OneLogin_Saml2_XML.query.__module__ == "onelogin.saml2.xml_utils"
            and saml_utils.xmlsec is xmlsec and type(C.ALLOWED_CLOCK_DRIFT) is int)


# --- Same answers as stock python3-saml ---------------------------------------------------------

def _now(**delta) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)


def _forged(change):
    """A case whose XML is the test IdP's signed response, then changed with lxml."""
    def build(flow, request, keys):
        root = etree.fromstring(flow.respond(request).encode())
        change(root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return build


def _not_in_schema(root):
    bogus = etree.Element(f"{{{NS['samlp']}}}Bogus")
    root.insert(1, bogus)  # after Issuer: no such element in the protocol schema


def _changed_nameid(root):
    root.find("saml:Assertion/saml:Subject/saml:NameID", NS).text = "someone.else@acme.test"


def _wrapped(root):
    signed = root.find("saml:Assertion", NS)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find("ds:Signature", NS))
    evil.find("saml:Subject/saml:NameID", NS).text = "someone.else@acme.test"
    evil.set("ID", "evil" + signed.get("ID"))
    root.remove(signed)
    root.append(evil)
    root.append(signed)


def _respond(clock_skew=60, key=None, **options):
    def build(flow, request, keys):
        opts = {k: (v() if callable(v) else v) for k, v in options.items()}
        return flow.respond(request, **opts, **({"key": keys[key]} if key else {}))
    return build, clock_skew


# name: (build(flow, request, idp_keys) -> XML, clock skew, expected outcome)
CASES = {
    "okta_like": (*_respond(), "valid"),
    "response_signed_only": (*_respond(sign_assertion=False), "valid"),
    "assertion_signed_only": (*_respond(sign_response=False), "valid"),
    "many_groups": (*_respond(groups=[f"Group {i}" for i in range(300)]), "valid"),
    "other_key": (*_respond(key="attacker"), "signature_invalid"),
    "unsigned": (*_respond(sign_response=False, sign_assertion=False), "signature_invalid"),
    "sha1_signature": (*_respond(sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                 digest_alg="http://www.w3.org/2000/09/xmldsig#sha1"), "signature_invalid"),
    "changed_nameid": (_forged(_changed_nameid), 60, "signature_invalid"),
    "signature_wrapping": (_forged(_wrapped), 60, "malformed_response"),  # two assertions
    "expired": (*_respond(now=lambda: _now(hours=-1)), "expired"),
    "not_yet_valid": (*_respond(now=lambda: _now(hours=1)), "not_yet_valid"),
    "early_within_skew": (*_respond(not_before=lambda: _now(seconds=30)), "valid"),
    "early_without_skew": (*_respond(0, not_before=lambda: _now(seconds=30)), "not_yet_valid"),
    "late_within_skew": (*_respond(not_on_or_after=lambda: _now(seconds=-20)), "valid"),
    "late_without_skew": (*_respond(0, not_on_or_after=lambda: _now(seconds=-20)), "expired"),
    "audience_mismatch": (*_respond(audience="https://portal.test/login/saml/globex"), "audience_mismatch"),
    "destination_mismatch": (*_respond(destination="https://portal.test/login/saml/globex/callback"),
                             "destination_mismatch"),
    "issuer_mismatch": (*_respond(issuer="http://www.okta.com/exkSOMEONEELSE"), "issuer_mismatch"),
    "status_not_success": (*_respond(status=STATUS_RESPONDER), "idp_status_not_success"),
    "in_response_to_unknown": (*_respond(in_response_to="ONELOGIN_unknown"), "request_unknown_or_used"),
    "not_in_schema": (_forged(_not_in_schema), 60, "malformed_response"),
}


def outcome(account, xml, request_id: str, clock_skew: int) -> tuple:
    """What the portal's validation makes of xml: ("valid", the assertion) or ("rejected", reason, problem)."""
    data = {"post_data": post_form(xml)}
    try:
        response = saml.parse_response(account, data)
        return ("valid", saml.validate(account, response, data, request_id, clock_skew))
    except saml.Rejected as exc:
        return ("rejected", exc.reason.value, exc.problem)


def test_stock_and_patched_python3_saml_give_the_same_outcomes(flow, idp_keys, speedups_restored):
    request = flow.start()
    cases = {name: (build(flow, request, idp_keys), skew) for name, (build, skew, _) in CASES.items()}

    def run_all():
        return {name: outcome(flow.account, xml, request.request_id, skew) for name, (xml, skew) in cases.items()}

    saml_speedups.uninstall()
    saml.clear_caches()
    assert is_stock()
    stock = run_all()
    assert not saml_speedups._keys and not saml_speedups._schemas.__dict__  # really the stock path

    assert saml_speedups.install() and not is_stock()
    patched_cold = run_all()  # compiles schemas and XPath, parses the certificate
    patched_warm = run_all()  # answers from the caches

    assert {name: result[0] if result[0] == "valid" else result[1] for name, result in stock.items()} == \
           {name: expected for name, (_, _, expected) in CASES.items()}
    for name in CASES:
        assert patched_cold[name] == stock[name], name
        assert patched_warm[name] == stock[name], name
    assert saml_speedups._keys and SCHEMA in saml_speedups._schemas.__dict__ and saml_speedups._xpaths.__dict__


def test_unexpected_validate_xml_arguments_are_left_to_python3_saml(flow, capsys):
    """No assert: what python3-saml never asks for (other types, other files, debug output) goes to its own."""
    valid = flow.respond(flow.start()).encode()
    stock = saml_speedups._stock_validate_xml

    def result(function, *args):
        try:
            value = function(*args)
        except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
            return type(exc)
        return value if isinstance(value, str) else value.tag

    for args in [(valid, None), (valid, SCHEMA.encode()), (valid, "missing.xsd"), (valid, "../xml_utils.py"),
                 (valid, "../schemas/" + SCHEMA), (INVALID, SCHEMA, True), (b"<not xml", SCHEMA, True)]:
        patched = result(OneLogin_Saml2_XML.validate_xml, *args), capsys.readouterr().out
        assert patched == (result(stock, *args), capsys.readouterr().out), args


# --- Installed by create_app, only on the version the patches were written for -------------------

def test_create_app_installs_the_speedups_and_importing_the_saml_module_does_not(tmp_path, speedups_restored):
    saml_speedups.uninstall()
    app = create_app(make_config(tmp_path))
    with app.app_context():
        db.engine.dispose()
    assert saml_speedups.is_installed() and not is_stock()
    assert saml_speedups.install() is True and saml_speedups.is_installed()  # idempotent
    code = ("import portal.sso.saml, tests.sso.test_saml_speedups as t; "
            "assert t.is_stock(), 'importing portal.sso.saml patched python3-saml'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_unsupported_version_warns_once_and_leaves_python3_saml_stock(flow, admin, tmp_path, monkeypatch,
                                                                      speedups_restored):
    saml_speedups.uninstall()
    monkeypatch.setattr(saml_speedups, "_python3_saml_version", lambda: "1.17.0")
    monkeypatch.setattr(saml_speedups, "_warned", False)
    with pytest.warns(RuntimeWarning) as caught:
        assert saml_speedups.install() is False
        assert saml_speedups.install() is False
        app = create_app(make_config(tmp_path / "other"))
    with app.app_context():
        db.engine.dispose()
    assert len(caught) == 1
    assert "python3-saml 1.17.0" in str(caught[0].message) and "stock (slower)" in str(caught[0].message)
    assert is_stock() and not saml_speedups.is_installed()
    # The stock path still signs people in, and still honours the clock skew (under its lock).
    assert flow.login().status_code == 303
    request = flow.start()
    assert outcome(flow.account, flow.respond(request, not_before=_now(seconds=30)), request.request_id,
                   0)[1] == "not_yet_valid"
    assert is_stock() and C.ALLOWED_CLOCK_DRIFT == 300


def test_missing_version_is_unsupported(monkeypatch, speedups_restored):
    def not_installed(name):
        raise saml_speedups.metadata.PackageNotFoundError(name)

    saml_speedups.uninstall()
    monkeypatch.setattr(saml_speedups.metadata, "version", not_installed)
    monkeypatch.setattr(saml_speedups, "_warned", False)
    with pytest.warns(RuntimeWarning, match="version unknown"):
        assert saml_speedups.install() is False
    assert is_stock()


# --- Clock skew per validation, no lock ----------------------------------------------------------

def test_two_threads_validate_with_their_own_clock_skew_at_the_same_time(app, flow, monkeypatch):
    """Both validations are inside python3-saml's timestamp check at once; each sees its own skew."""
    assert saml_speedups.is_installed()
    request = flow.start()
    early = _now(seconds=120)  # too early without skew, fine with 600 s
    work = {}
    for skew in (0, 600):
        data = {"post_data": post_form(flow.respond(request, not_before=early))}
        work[skew] = (saml.parse_response(flow.account, data), data)
    assert flow.account.domain  # loaded here: the threads never touch the test's database session
    barrier = threading.Barrier(2, timeout=10)
    check_timestamps = OneLogin_Saml2_Response.validate_timestamps

    def meet_then_check(self, *args, **kwargs):
        barrier.wait()  # neither reads the drift before both have set theirs; a lock would never get here
        return check_timestamps(self, *args, **kwargs)

    monkeypatch.setattr(OneLogin_Saml2_Response, "validate_timestamps", meet_then_check)
    results = {}

    def validate(skew):
        response, data = work[skew]
        with app.app_context():
            try:
                results[skew] = saml.validate(flow.account, response, data, request.request_id, skew).nameid
            except saml.Rejected as exc:
                results[skew] = (exc.reason.value, exc.problem)

    threads = [threading.Thread(target=validate, args=(skew,)) for skew in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0][0] == "not_yet_valid", results
    assert results[600] == "admin@acme.test", results
    assert C.ALLOWED_CLOCK_DRIFT == saml_speedups.DEFAULT_CLOCK_DRIFT  # each call's skew was reset


def test_clock_skew_is_reset_after_a_failed_validation(flow):
    request = flow.start()
    assert outcome(flow.account, flow.respond(request, now=_now(hours=1)), request.request_id, 7)[1] == "not_yet_valid"
    assert int(C.ALLOWED_CLOCK_DRIFT) == 300 and C.ALLOWED_CLOCK_DRIFT + 1 == 301 and 1 + C.ALLOWED_CLOCK_DRIFT == 301
    with saml_speedups.clock_skew(5):
        assert 10 + C.ALLOWED_CLOCK_DRIFT == 15 and C.ALLOWED_CLOCK_DRIFT - 1 == 4 and 10 - C.ALLOWED_CLOCK_DRIFT == 5
        assert C.ALLOWED_CLOCK_DRIFT < 6 and C.ALLOWED_CLOCK_DRIFT >= 5 and [0] * 9 == [0] * (4 + C.ALLOWED_CLOCK_DRIFT)
    assert C.ALLOWED_CLOCK_DRIFT == 300


# --- Per-process caches ----------------------------------------------------------------------------

def test_cached_schema_still_refuses_an_invalid_document(flow):
    valid = flow.respond(flow.start()).encode()
    assert OneLogin_Saml2_XML.validate_xml is saml_speedups._validate_xml  # the cached one is installed
    for _ in range(3):  # first call compiles, the next ones reuse it
        assert OneLogin_Saml2_XML.validate_xml(INVALID, SCHEMA) == "invalid_xml"
        assert OneLogin_Saml2_XML.validate_xml(valid, SCHEMA).tag.endswith("Response")
    assert OneLogin_Saml2_XML.validate_xml(b"<not xml", SCHEMA) == "unloaded_xml"
    # Same answers as python3-saml's own (uncached) function.
    assert saml_speedups._stock_validate_xml(INVALID, SCHEMA) == "invalid_xml"
    assert saml_speedups._stock_validate_xml(valid, SCHEMA).tag.endswith("Response")


def test_schema_cache_is_per_thread_and_correct_under_concurrency(flow):
    valid = flow.respond(flow.start()).encode()
    results, errors, validators = [], [], []

    def work():
        try:
            for i in range(20):
                doc, want = (valid, True) if i % 2 else (INVALID, False)
                result = OneLogin_Saml2_XML.validate_xml(doc, SCHEMA)
                results.append((result != "invalid_xml") == want)
            validators.append(saml_speedups._schemas.__dict__[SCHEMA])  # kept alive: ids stay distinct
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 120 and all(results)
    assert len({id(v) for v in validators}) == 6  # one compiled schema per thread


def test_settings_are_built_once_per_version_and_rebuilt_on_change(app, sso_account, idp_keys):
    first = saml._settings(sso_account)
    assert saml._settings(sso_account) is first
    sso_settings.apply(sso_account, sso_settings.SettingsChange(idp_issuer="http://www.okta.com/exkNEW"))
    db.session.commit()
    second = saml._settings(sso_account)
    assert second is not first and second.get_idp_data()["entityId"] == "http://www.okta.com/exkNEW"
    assert saml._settings(sso_account) is second
    # A change that does not go through the settings service (no version bump) is still picked up.
    sso_account.sso_config.idp_login_url = "https://idp.test/other"
    db.session.commit()
    third = saml._settings(sso_account)
    assert third is not second and third.get_idp_data()["singleSignOnService"]["url"] == "https://idp.test/other"


def test_login_after_issuer_change_uses_new_settings(flow, admin):
    assert flow.login().status_code == 303
    sso_settings.apply(flow.account, sso_settings.SettingsChange(idp_issuer="http://www.okta.com/exkOTHER"))
    db.session.commit()
    flow.client.post("/logout")
    response = flow.login()
    assert response.status_code == 400  # the cached settings of the old version are not used


def test_clear_caches(flow):
    document = etree.fromstring(flow.respond(flow.start()).encode())
    saml._settings(flow.account)
    OneLogin_Saml2_XML.validate_xml(INVALID, SCHEMA)
    OneLogin_Saml2_XML.query(document, "/samlp:Response")
    saml_speedups._CachedKeys().from_memory(flow.idp.keypair.cert_pem, xmlsec.KeyFormat.CERT_PEM)
    assert saml._settings_cache and saml_speedups._keys and saml_speedups._xpaths.__dict__
    saml.clear_caches()
    assert not saml._settings_cache and SCHEMA not in saml_speedups._schemas.__dict__
    assert not saml_speedups._keys and not saml_speedups._xpaths.__dict__


def test_certificate_keys_are_parsed_once_and_a_replaced_certificate_is_not_trusted(flow, idp_keys, admin):
    saml.clear_caches()
    assert flow.login().status_code == 303
    assert len(saml_speedups._keys) == 1  # the account's one certificate, parsed once for both signatures
    key = next(iter(saml_speedups._keys.values()))
    flow.client.post("/logout")
    assert flow.login().status_code == 303
    assert next(iter(saml_speedups._keys.values())) is key  # reused by the next login
    # Replace the certificate: the old key stays in the process cache but is never offered again.
    sso_settings.apply(flow.account, sso_settings.SettingsChange(
        replace_certificates=[idp_keys["second"].cert_pem]))
    db.session.commit()
    flow.client.post("/logout")
    assert flow.login().status_code == 400  # signed with the old key
    assert sso_events(flow.account, "failure")[-1].reason == "signature_invalid"
    request = flow.start()
    assert flow.post(flow.respond(request, key=idp_keys["second"])).status_code == 303


def test_xpath_cache_is_per_thread_and_gives_python3_saml_the_same_nodes(flow):
    document = etree.fromstring(flow.respond(flow.start()).encode())
    query = "/samlp:Response/saml:Assertion/saml:Subject/saml:NameID"
    stock = document.xpath(query, namespaces=C.NSMAP)
    assert OneLogin_Saml2_XML.query(document, query) == stock and len(stock) == 1
    tagged = OneLogin_Saml2_XML.query(document, "/samlp:Response[@ID=$tagid]", tagid=document.get("ID"))
    assert tagged == [document]
    assert OneLogin_Saml2_XML.query(document, "/samlp:Response[@ID=$tagid]", tagid="other") == []
    compiled = []

    def work():
        OneLogin_Saml2_XML.query(document, query)
        compiled.append(saml_speedups._xpaths.__dict__[query])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in compiled}) == 3  # one compiled expression per thread
