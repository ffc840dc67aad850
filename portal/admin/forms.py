"""Forms of the team, role and user admin pages (field-level validation only; rules live in services)."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.audit import log as audit_log
from portal.directory.teams import MAX_TEAM_NAME
from portal.models.audit import OUTCOMES


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




class AuditFilterForm(FlaskForm):
    """GET filters of the audit log (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    type = StringField("Event type", validators=[Optional(), Length(max=64)])
    outcome = SelectField("Outcome", choices=[SelectChoice("", "Any")] + [SelectChoice(o, o.capitalize()) for o in OUTCOMES],
                          validators=[Optional()])
    email = StringField("User email", validators=[Optional(), Length(max=320)],
                        description="Matches the actor or the subject.")
    since = DateField("From (UTC date)", validators=[Optional()])
    until = DateField("To (UTC date)", validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")

    def filters(self) -> audit_log.AuditFilters:
        return audit_log.make_filters(self.type.data, self.outcome.data, self.email.data,
                                      self.since.data, self.until.data)
