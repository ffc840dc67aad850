"""Sign-in: password login, Log in with SSO, logout, the dashboard and the user's own account page.

The session itself (start, load, revoke) is portal/sessions.py, below both auth/ and directory/. The blueprint is
re-exported lazily: other packages import auth.forms, and loading the views on that path would initialise the
sso package (whose __init__ imports its views) half-way through accounts/.
"""


def __getattr__(name: str):
    if name == "bp":
        from portal.auth.views import bp
        return bp
    raise AttributeError(name)
