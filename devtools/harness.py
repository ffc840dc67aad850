"""A portal under gunicorn wired to the pysaml2 test IdP through the CLI, and HTTP clients that log in through it.

Shared by the load/fault tests (tests/load/) and bench/acs_bench.py.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from devtools.saml_idp import AuthnInfo, KeyPair, TestIdp, post_form
from devtools.servers import flask, free_port, portal_env, start_gunicorn, stop

DOMAIN = "acme"
ADMIN_EMAIL = "admin@acme.test"
IDP_SSO_URL = "https://idp.test/app/portal/sso/saml"
IDP_ISSUER = "http://www.okta.com/exkLOADTEST"


def wire(env: dict, keys: KeyPair) -> None:
    """Migrate, create acme and turn SSO on through the operators' CLI (the CLI is part of what is tested)."""
    flask(env, "db", "upgrade")
    flask(env, "accounts", "create", "--name", "Acme", "--domain", DOMAIN, "--admin-email", ADMIN_EMAIL,
          "--admin-password", "load-admin-password")
    flask(env, "sso-config", "set", DOMAIN, "--idp-login-url", IDP_SSO_URL, "--idp-issuer", IDP_ISSUER,
          "--idp-cert", keys.cert_path, "--enable", "--auto-create-users", "--auto-create-groups")


@dataclass
class Portal:
    """A running gunicorn portal and the IdP its account trusts."""
    url: str
    database_url: str
    env: dict
    idp: TestIdp
    process: object = None
    log: Path | None = None
    metadata: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acs_url(self) -> str:
        return f"{self.url}/login/saml/{DOMAIN}/callback"

    def start(self, port: int, log: Path, workers: int = 2, threads: int = 1) -> "Portal":
        """Start gunicorn and read the SP metadata the IdP needs."""
        self.log = log
        self.process = start_gunicorn(self.env, port, log, workers=workers, threads=threads)
        self.metadata = requests.get(f"{self.url}/login/saml/{DOMAIN}/metadata", timeout=30).text
        self.idp.server(self.metadata)  # build pysaml2's Server once, before client threads share it
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def begin(self, session: requests.Session) -> AuthnInfo:
        """GET the SP Initiation URL; the AuthnRequest as the IdP parsed it from the redirect."""
        response = session.get(f"{self.url}/login/saml/{DOMAIN}", allow_redirects=False, timeout=60)
        assert response.status_code == 302, (response.status_code, response.text[:500])
        return self.idp.receive(self.metadata, response.headers["Location"])

    def answer(self, request: AuthnInfo, email: str, **options) -> dict:
        """The signed Okta-like response for request, as the ACS form fields."""
        xml = self.idp.response(request, email, sp_metadata=self.metadata, **options)
        return post_form(xml, request.relay_state)

    def post(self, session: requests.Session, form: dict | None = None, **kwargs) -> requests.Response:
        """POST to the ACS as the browser would (no redirects followed), on a new connection.

        A kept-alive connection left idle past gunicorn's keep-alive timeout (2 s) may be closed by the
        server just as the client reuses it: a client-side race, seen on a loaded machine, not a portal fault.
        """
        session.close()  # drops pooled connections only; cookies stay
        return session.post(self.acs_url, data=form, allow_redirects=False, timeout=120, **kwargs)

    def login(self, email: str, session: requests.Session | None = None, **options) -> requests.Response:
        """One whole SP-initiated login: GET initiation → IdP → POST ACS."""
        session = session or requests.Session()
        return self.post(session, self.answer(self.begin(session), email, **options))

    def scalar(self, sql: str, **params):
        """One value read straight from the portal's database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: children of the master process."""
        master = self.process.pid
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    found.append(int(entry))
        return sorted(found)


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def make_portal(database_url: str, idp: TestIdp, tmp: Path, workers: int = 2, threads: int = 1,
                database_url_for_portal: str | None = None, **settings: str) -> Portal:
    """Wire a fresh database and start gunicorn on it (the portal may reach the database another way)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    wire(portal_env(database_url, base_url), idp.keypair)
    # Load tests and benchmarks post every login from 127.0.0.1: lift the ACS's per-IP throttle (60 a minute)
    # unless a test sets it; tests/sso/test_isolation.py proves the throttle itself.
    settings = {"PORTAL_ACS_LIMIT_PER_IP": "1000000 per minute", **settings}
    env = portal_env(database_url_for_portal or database_url, base_url, **settings)
    portal = Portal(url=base_url, database_url=database_url, env=env, idp=idp)
    return portal.start(port, tmp / f"gunicorn-{port}.log", workers=workers, threads=threads)
