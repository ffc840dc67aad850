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


def page(question: str, consequences: list[str], button: str, cancel: str, *, context: str = "",
         hidden: dict[str, str] | None = None, title: str = ""):
    """The confirmation page at the action's own URL: 200 on GET, 422 for a POST that skipped it."""
    refused = request.method == "POST"
    return render_template("confirm.html", question=question, consequences=consequences, button=button,
                           cancel=cancel, context=context, hidden=hidden or {}, title=title or question,
                           form=ConfirmStepForm(formdata=None), refused=refused, action=request.path,
                           confirmed_value=CONFIRMED), \
        422 if refused else 200
