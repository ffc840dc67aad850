"""Sign-in: password login, Log in with SSO, logout, the dashboard, and the session itself (sessions.py).

The blueprint is re-exported lazily: directory/ imports auth.sessions, and loading the views (which import
directory/) on that path would be a cycle.
"""


def __getattr__(name: str):
    if name == "bp":
        from portal.auth.views import bp
        return bp
    raise AttributeError(name)
