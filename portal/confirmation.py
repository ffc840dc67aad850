"""The confirmation step of a destructive action: a page naming the object and the consequence, then one POST."""
from __future__ import annotations

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf

CONFIRMED = "yes"


class ConfirmStepForm(FlaskForm):
    """The confirmation page's form: only it sends confirm=yes, so a one-click POST from elsewhere is refused."""

    # No default: WTForms would fill a missing field with it, and a bare POST would pass.
    confirm = HiddenField(validators=[AnyOf([CONFIRMED])])


def confirmed() -> bool:
    """True for a POST that came from a confirmation page (CSRF is checked for every POST by CSRFProtect)."""
    return request.method == "POST" and ConfirmStepForm().validate_on_submit()


def carried() -> dict[str, str]:
    """The posted fields (but the token and confirm), for a step that asks before a settings change is saved."""
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", "confirm")}


def page(question: str, consequences: list[str], button: str, cancel: str, *, context: str = "",
         hidden: dict[str, str] | None = None, title: str = "", refused: bool | None = None):
    """The confirmation page at the action's own URL: 200 on GET, 422 for a POST that skipped it.

    refused=False is for a form whose ordinary post is the first step (the SSO page's switches): no alarm, 200.
    """
    refused = request.method == "POST" if refused is None else refused
    return render_template("confirm.html", question=question, consequences=consequences, button=button,
                           cancel=cancel, context=context, hidden=hidden or {}, title=title or question,
                           form=ConfirmStepForm(formdata=None), refused=refused, action=request.full_path.rstrip("?"),
                           confirmed_value=CONFIRMED), \
        422 if refused else 200
