"""Configuration: defaults, then instance/config.py, then PORTAL_* variables, then test dict."""
from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the setting and why."""


DEFAULTS = {
    "BASE_URL": "http://127.0.0.1:5000",
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "SECRET_KEY": None,  # None: generated into the instance folder on first run
    "KEY_ENCRYPTION_KEY": None,  # None: SP private keys are encrypted under a key derived from SECRET_KEY
    "SAML_CLOCK_SKEW": 60,  # seconds of clock difference tolerated with the IdP
    "SAML_REQUEST_TTL": 600,  # seconds an AuthnRequest stays pending
    "SAML_MAX_RESPONSE_BYTES": 256 * 1024,  # cap on the ACS request body
    "SAML_MAX_GROUPS": 200,  # groups read from one login
    "SAML_MAX_TEAM_REMOVALS": 10,  # safety rail: more removals than this in one login are held
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_LIMIT_PER_EMAIL": "5 per minute;20 per hour",
    "LOGIN_LIMIT_PER_IP": "30 per minute;200 per hour",
    "ACS_LIMIT_PER_IP": "60 per minute",  # posts to any account's ACS from one client IP
    "ACS_UNSIGNED_FAILURES_PER_MINUTE": 20,  # per account: more are counted in one event, not logged one by one
    "AUDIT_RETENTION_DAYS": None,  # None: keep forever
    "DOMAIN_QUARANTINE_DAYS": 30,  # a released custom domain is held this long for the account that released it
    "PASSWORD_HASH_METHOD": "scrypt",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "SESSION_LIFETIME": 12 * 3600,  # absolute: a session ends this long after sign-in, whatever happens
    "SESSION_IDLE_TIMEOUT": 2 * 3600,  # a session unused this long ends
    "REMEMBER_LIFETIME": 14 * 86400,  # "Keep me signed in" starts new sessions for this long
    "PROXY_FIX": 0,  # number of trusted proxies in front of the portal (X-Forwarded-*)
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "SCIM_MAX_BODY_BYTES": 1024 * 1024,  # cap on a SCIM request body (413 above)
    "SCIM_RATE_LIMIT": "50 per second;2000 per minute",  # requests per SCIM token (429 with Retry-After above)
    "DNS_RESOLVER": None,  # "host:port" asked for email-domain TXT records; None: the system's resolver
    "DNS_TIMEOUT": 3,  # seconds one email-domain check may wait for the resolver
    "CERT_GRACE_DAYS": 7,  # a certificate gone from the IdP metadata URL stays active this long
    "METADATA_FETCH_TIMEOUT": 10,  # seconds for one metadata URL fetch, redirects included
    "METADATA_FETCH_LIMIT": "10 per minute;60 per hour",  # metadata URL fetches an account's admins may start
    "METADATA_CA_BUNDLE": None,  # PEM file of CAs trusted for metadata URLs; None: the system's trust store
}

_INT_SETTINGS = ("SAML_CLOCK_SKEW", "SAML_REQUEST_TTL", "SAML_MAX_RESPONSE_BYTES", "SAML_MAX_GROUPS",
                 "SAML_MAX_TEAM_REMOVALS", "PROXY_FIX", "MAX_CONTENT_LENGTH", "SESSION_LIFETIME",
                 "SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME", "SCIM_MAX_BODY_BYTES", "DOMAIN_QUARANTINE_DAYS",
                 "ACS_UNSIGNED_FAILURES_PER_MINUTE", "DNS_TIMEOUT", "CERT_GRACE_DAYS")


def load(app: Flask, test_config: dict | None) -> None:
    """Fill app.config from defaults, instance/config.py, PORTAL_* env, then test_config."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)
    check(app)


def check(app: Flask) -> None:
    """Validate and normalise settings; raise ConfigError naming the first bad one."""
    cfg = app.config
    for name in _INT_SETTINGS:
        cfg[name] = _as_int(name, cfg[name])
    if cfg.get("AUDIT_RETENTION_DAYS") not in (None, ""):
        cfg["AUDIT_RETENTION_DAYS"] = _as_int("AUDIT_RETENTION_DAYS", cfg["AUDIT_RETENTION_DAYS"])
    else:
        cfg["AUDIT_RETENTION_DAYS"] = None
    for name in ("SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME", "SCIM_MAX_BODY_BYTES"):
        if cfg[name] < 1:
            raise ConfigError(f"PORTAL_{name} must be at least 1 second, got {cfg[name]}")
    cfg["BASE_URL"] = _base_url(str(cfg["BASE_URL"]))
    secure = cfg["BASE_URL"].startswith("https://")
    cfg["SESSION_COOKIE_SECURE"] = secure
    cfg["REMEMBER_COOKIE_SECURE"] = secure
    cfg["SQLALCHEMY_DATABASE_URI"] = _database_url(app, cfg.get("DATABASE_URL"))
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})  # portal/dbping.py pings pooled connections
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _instance_secret(app)
    if cfg.get("KEY_ENCRYPTION_KEY") and len(str(cfg["KEY_ENCRYPTION_KEY"])) < 32:
        raise ConfigError("PORTAL_KEY_ENCRYPTION_KEY must be at least 32 characters (a random secret)")
    for name, example in (("SCIM_RATE_LIMIT", "50 per second;2000 per minute"), ("ACS_LIMIT_PER_IP", "60 per minute"),
                          ("METADATA_FETCH_LIMIT", "10 per minute;60 per hour")):
        try:
            parse_many(str(cfg[name]))
        except ValueError:
            raise ConfigError(f"PORTAL_{name} must be a rate like '{example}', got {cfg[name]!r}") from None
    if not 1 <= cfg["DNS_TIMEOUT"] <= 30:
        raise ConfigError(f"PORTAL_DNS_TIMEOUT must be 1 to 30 seconds, got {cfg['DNS_TIMEOUT']}")
    if cfg.get("DNS_RESOLVER") in (None, ""):
        cfg["DNS_RESOLVER"] = None
    else:
        host, port = resolver_address(str(cfg["DNS_RESOLVER"]))
        cfg["DNS_RESOLVER"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    _check_metadata_fetch(cfg)
    cfg["RATELIMIT_STORAGE_URI"] = str(cfg["RATELIMIT_STORAGE_URI"])
    if "://" not in cfg["RATELIMIT_STORAGE_URI"]:
        raise ConfigError("PORTAL_RATELIMIT_STORAGE_URI must look like memory:// or redis://host:port")


def _check_metadata_fetch(cfg) -> None:
    try:
        cfg["METADATA_FETCH_TIMEOUT"] = float(cfg["METADATA_FETCH_TIMEOUT"])
    except (TypeError, ValueError):
        raise ConfigError("PORTAL_METADATA_FETCH_TIMEOUT must be a number of seconds, "
                          f"got {cfg['METADATA_FETCH_TIMEOUT']!r}") from None
    if not 0 < cfg["METADATA_FETCH_TIMEOUT"] <= 120:
        raise ConfigError(f"PORTAL_METADATA_FETCH_TIMEOUT must be between 0 and 120 seconds, "
                          f"got {cfg['METADATA_FETCH_TIMEOUT']:g}")
    bundle = cfg.get("METADATA_CA_BUNDLE") or None
    if bundle is not None and not Path(str(bundle)).is_file():
        raise ConfigError(f"PORTAL_METADATA_CA_BUNDLE must name a PEM file of CA certificates, got {bundle!r}")
    cfg["METADATA_CA_BUNDLE"] = str(bundle) if bundle else None


def _as_int(name: str, value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"PORTAL_{name} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"PORTAL_{name} must not be negative, got {number}")
    return number


def resolver_address(value: str) -> tuple[str, int]:
    """PORTAL_DNS_RESOLVER's IP address and port ("192.0.2.53:53", "[2001:db8::53]:53"), or ConfigError."""
    text = value.strip()
    bad = ConfigError(f"PORTAL_DNS_RESOLVER must be host:port with an IP address host (like 192.0.2.53:53 or "
                      f"[2001:db8::53]:53), got {value!r}")
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise bad
    try:
        return str(ipaddress.ip_address(host)), int(port)
    except ValueError:
        raise bad from None


def _base_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"PORTAL_BASE_URL must start with https:// (or http:// for local use), got {value!r}")
    if not parts.hostname:
        raise ConfigError(f"PORTAL_BASE_URL has no host name: {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"PORTAL_BASE_URL must not have a query or fragment: {value!r}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"PORTAL_BASE_URL has an invalid port: {value!r}") from None
    return value.strip().rstrip("/")


def _database_url(app: Flask, value) -> str:
    if not value:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        return "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite3")
    value = str(value)
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"PORTAL_DATABASE_URL is not a database URL: {value!r}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    if backend == "sqlite":
        return value
    raise ConfigError(f"PORTAL_DATABASE_URL must be sqlite:/// or postgresql://, got {backend!r}")


def _instance_secret(app: Flask) -> str:
    path = Path(app.instance_path) / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except FileExistsError:  # another worker wrote it first
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"PORTAL_SECRET_KEY is not set and {path} cannot be written: {exc.strerror}") from None


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
