"""Forms of the team, role and user admin pages (field-level validation only; rules live in services)."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.admin.services import MAX_TEAM_NAME


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired("Enter a team name."), Length(max=MAX_TEAM_NAME)])


class MemberForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter the email of a user of this account."),
                                             Length(max=320)],
                        description="A user of this account. Members added here are never removed by SSO.")


class RoleForm(FlaskForm):
    role = SelectField("Role", validators=[DataRequired("Choose a role.")], choices=[])

    def with_roles(self, roles, exclude=()) -> "RoleForm":
        """Offer the roles not already granted."""
        self.role.choices = [(r.name, f"{r.name} — {r.description}") for r in roles if r not in exclude]
        return self


class ConfirmForm(FlaskForm):
    """A form that is only a button: it carries the CSRF token of one action."""
