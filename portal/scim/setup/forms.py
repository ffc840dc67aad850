"""Forms of the Provisioning (SCIM) page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

NO_ROLE = "none"


class TokenCreateForm(FlaskForm):
    name = StringField("Token name", validators=[Optional(), Length(max=100)],
                       description="To recognise the token later, e.g. “Okta” or “Entra ID”.")


class DefaultRoleForm(FlaskForm):
    role = SelectField("Default role for new people", validators=[DataRequired("Choose a role.")], choices=[],
                       description="Granted to people created by SCIM or by SSO auto-create. Roles of teams come "
                                   "on top, once an admin grants roles to the pushed groups.")

    def set_roles(self, roles) -> None:
        """Choose a role… first: no role is ever preselected."""
        self.role.choices = [("", "Choose a role…"), (NO_ROLE, "No default role (new people get no role)")] + [
            (r.name, f"{r.name} — {r.description}") for r in roles]
