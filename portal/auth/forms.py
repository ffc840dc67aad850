"""Forms of the auth blueprint: password login and Log in with SSO."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    # No format check here: any wrong input gets the same "wrong email or password".
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])
    remember = BooleanField("Keep me signed in on this device", default=False)


class SsoStartForm(FlaskForm):
    domain = StringField(
        "Custom domain or work email", validators=[DataRequired(), Length(max=320)],
        description="Your account's custom domain (for example acme), or your work email.")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password."),
                                                                    Length(max=1000)])
    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password."),
                                                            Length(min=8, max=1000)],
                                 description="At least 8 characters. Your other devices are signed out.")
    confirm = PasswordField("Repeat the new password",
                            validators=[EqualTo("new_password", "The two new passwords differ.")])


class ConfirmForm(FlaskForm):
    """A form that is only a button: it carries the CSRF token of one action."""
