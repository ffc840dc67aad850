import subprocess
import sys
from pathlib import Path

import pytest

from portal import ConfigError, create_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("overrides, message", [
    ({"BASE_URL": "portal.example.com"}, "PORTAL_BASE_URL must start with https://"),
    ({"BASE_URL": "https://"}, "PORTAL_BASE_URL has no host name"),
    ({"DATABASE_URL": "not a url"}, "PORTAL_DATABASE_URL is not a database URL"),
    ({"DATABASE_URL": "mysql://x/y"}, "PORTAL_DATABASE_URL must be sqlite:/// or postgresql://"),
    ({"SAML_CLOCK_SKEW": "soon"}, "PORTAL_SAML_CLOCK_SKEW must be a whole number"),
    ({"SAML_CLOCK_SKEW": -5}, "PORTAL_SAML_CLOCK_SKEW must not be negative"),
    ({"RATELIMIT_STORAGE_URI": "localhost"}, "PORTAL_RATELIMIT_STORAGE_URI"),
    ({"CERT_GRACE_DAYS": "a week"}, "PORTAL_CERT_GRACE_DAYS must be a whole number"),
    ({"CERT_GRACE_DAYS": -1}, "PORTAL_CERT_GRACE_DAYS must not be negative"),
    ({"METADATA_FETCH_TIMEOUT": "0"}, "PORTAL_METADATA_FETCH_TIMEOUT must be between"),
    ({"METADATA_FETCH_TIMEOUT": "soon"}, "PORTAL_METADATA_FETCH_TIMEOUT must be a number"),
    ({"METADATA_CA_BUNDLE": "/nonexistent/ca.pem"}, "PORTAL_METADATA_CA_BUNDLE must name a PEM file"),
])
def test_bad_settings_stop_start_up(tmp_path, overrides, message):
    config = {"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **overrides}
    with pytest.raises(ConfigError, match=message):
        create_app(config)


def test_postgres_url_uses_psycopg3(tmp_path):
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "postgresql://u@127.0.0.1/db"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_https_base_url_makes_cookies_secure(tmp_path):
    app = create_app({"SECRET_KEY": "x", "BASE_URL": "https://p.example/", "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["BASE_URL"] == "https://p.example"
    app = create_app({"SECRET_KEY": "x", "BASE_URL": "http://127.0.0.1:5000", "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def run_flask(tmp_path, env_extra, *args):
    env = {"PATH": "/usr/bin:/bin", "FLASK_APP": "wsgi", "HOME": str(tmp_path),
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", **env_extra}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_env_setting_error_is_one_line_without_traceback(tmp_path):
    result = run_flask(tmp_path, {"PORTAL_BASE_URL": "portal.example.com"}, "accounts", "list")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "portal: PORTAL_BASE_URL must start with https:// (or http:// for local use), got 'portal.example.com'"]


def test_secret_key_generated_into_instance_folder(tmp_path):
    settings = {"DATABASE_URL": "sqlite://", "SECRET_KEY": None, "INSTANCE_PATH": str(tmp_path / "instance")}
    key = create_app(settings).config["SECRET_KEY"]
    assert len(key) >= 32
    assert (tmp_path / "instance" / "secret_key").read_text() == key
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app(settings).config["SECRET_KEY"] == key


def test_default_database_is_sqlite_in_instance_folder(tmp_path):
    app = create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/inst/portal.sqlite3"


def test_cert_grace_days_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_CERT_GRACE_DAYS", "14")
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite3")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x")
    app = create_app()
    assert app.config["CERT_GRACE_DAYS"] == 14 and app.config["METADATA_FETCH_TIMEOUT"] == 10
