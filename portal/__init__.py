"""portal: a multi-tenant web portal whose accounts sign in through their own SAML IdP."""
from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import admin, auth, config, dbping, errors, inputs, ratelimits, scim, security, sessions, sso
from portal.accounts import cli as accounts_cli
from portal.admin import cli as admin_cli
from portal.audit import cli as audit_cli
from portal.scim import cli as scim_cli
from portal.scim import setup as scim_setup
from portal.scim.timing import ServerTiming
from portal.config import ConfigError
from portal.sso import setup as sso_setup
from portal.sso.setup import cli as sso_cli
from portal.sso.setup import fixes
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.models import iso
from portal.permissions import current_permissions
from portal.sso import saml_speedups

__all__ = ["create_app", "ConfigError"]

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the portal: config, extensions, speed-ups, blueprints, CLI, error handlers."""
    instance_path = (test_config or {}).get("INSTANCE_PATH")  # tests use a temporary folder
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    config.load(app, test_config)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        else:
            dbping.install(db.engine)  # pool_pre_ping's check, which SCIM's hot path can skip
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    limiter.init_app(app)
    ratelimits.skip_flask_limiter(app, frozenset({"scim"}))  # SCIM throttles per token (portal/scim/tokens.py)
    login_manager.init_app(app)
    if app.config["PROXY_FIX"]:
        # Behind N trusted proxies: take client IP and scheme from X-Forwarded-*. SAML URLs
        # never depend on this: they are built from PORTAL_BASE_URL.
        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    saml_speedups.install()  # python3-saml patches, only on the version they were written for

    # before the blueprints: their `<int:…>` routes take the bounded converter
    inputs.install(app, skip_blueprints=frozenset({"scim"}), body_read_by=frozenset({"sso.callback"}))
    app.register_blueprint(auth.bp)
    app.register_blueprint(sso.bp)
    app.register_blueprint(sso_setup.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(scim.bp)
    app.register_blueprint(scim_setup.bp)

    for group in accounts_cli.GROUPS + admin_cli.GROUPS + sso_cli.GROUPS + audit_cli.GROUPS + scim_cli.GROUPS:
        app.cli.add_command(group)

    app.wsgi_app = ServerTiming(app.wsgi_app)  # SCIM answers carry their server time (bench/scim_bench.py)
    errors.register(app)
    security.install(app)
    sessions.install(app)
    app.jinja_env.globals["current_permissions"] = current_permissions
    app.jinja_env.filters["iso"] = iso  # ISO 8601 UTC for <time datetime>, the one time format
    app.jinja_env.filters["device"] = sessions.device
    app.jinja_env.filters["fix_text"] = fixes.fix_html  # fix texts: `code` as <code>, pages they name linked
    app.jinja_env.globals["url_rules"] = app.view_functions  # navigation shows only pages that exist
    return app


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Several gunicorn workers share one SQLite file: WAL lets readers run beside a writer, and
    # synchronous=NORMAL is WAL's recommended durability (no corruption; a power cut may lose the
    # last commits). Foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
