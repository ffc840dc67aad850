"""Forms of the team, role and user admin pages (field-level validation only; rules live in services)."""
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.audit import log as audit_log
from portal.directory.teams import MAX_TEAM_NAME
from portal.directory.users import MIN_PASSWORD
from portal.models.audit import OUTCOMES

CHOOSE_ROLE = ("", "Choose a role…")  # first in every role select: nothing is ever pre-chosen
NO_ROLE = "none"


class TeamForm(FlaskForm):
    name = StringField("Team name", validators=[DataRequired("Enter a team name."), Length(max=MAX_TEAM_NAME)])


class MemberForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter the email of a user of this account."),
                                             Length(max=320)],
                        description="A user of this account. Members added here are never removed by SSO.")


class RoleForm(FlaskForm):
    role = SelectField("Role", validators=[DataRequired("Choose a role.")], choices=[])

    def with_roles(self, roles, exclude=()) -> "RoleForm":
        """Offer the roles not already granted, after an empty "Choose a role…" (none when all are granted)."""
        choices = [(r.name, f"{r.name} — {r.description}") for r in roles if r not in exclude]
        self.role.choices = [CHOOSE_ROLE] + choices if choices else []
        return self


class UserCreateForm(FlaskForm):
    """What `flask users create` takes: the email, optionally a name, a password and one role."""

    email = EmailField("Email", validators=[DataRequired("Enter the person's email."), Length(max=320)],
                       description="Their work email; it must not be used by any user of the portal yet.")
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password", validators=[Optional(), Length(
        min=MIN_PASSWORD, max=1000, message=f"The password must be at least {MIN_PASSWORD} characters long.")],
                             render_kw={"autocomplete": "new-password"},
                             description="Optional: at least 8 characters. Leave empty for people who sign in "
                                         "with SSO only.")
    role = SelectField("Role", validators=[DataRequired("Choose a role, or “No role”.")], choices=[],
                       description="Teams can grant more roles later.")

    def with_roles(self, roles) -> "UserCreateForm":
        """Every role, after "Choose a role…" and "No role"."""
        self.role.choices = [CHOOSE_ROLE, (NO_ROLE, "No role (only what their teams grant)")] + [
            (r.name, f"{r.name} — {r.description}") for r in roles]
        return self


class UserSearchForm(FlaskForm):
    """GET search of the users page (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search by email or name", validators=[Optional(), Length(max=320)])


class AuditFilterForm(FlaskForm):
    """GET filters of the audit log (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    type = StringField("Event type", validators=[Optional(), Length(max=64)])
    outcome = SelectField("Outcome", choices=[SelectChoice("", "Any")] + [SelectChoice(o, o.capitalize()) for o in OUTCOMES],
                          validators=[Optional()])
    email = StringField("User email", validators=[Optional(), Length(max=320)],
                        description="Matches the actor or the subject.")
    reference = StringField("Reference", validators=[
        Optional(), Length(max=32), Regexp(r"^\s*[Ss][Ss][Oo]-[A-Za-z0-9]{8}\s*$",
                                           message="A reference looks like SSO-AB3DE5FG (from the failure page).")],
        description="The code a person's SSO failure page or a Test SSO result shows.")
    since = DateField("From (UTC date)", validators=[Optional()])
    until = DateField("To (UTC date)", validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")

    def filters(self) -> audit_log.AuditFilters:
        return audit_log.make_filters(self.type.data, self.outcome.data, self.email.data,
                                      self.since.data, self.until.data, reference=self.reference.data)
