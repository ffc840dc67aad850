"""WSGI entry point: gunicorn 'wsgi:app'; also how `flask` finds the app."""
import sys

from portal import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    sys.exit(f"portal: {exc}")  # one line, exit status 1
