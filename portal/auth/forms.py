"""Forms of the auth blueprint: password login and Log in with SSO."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    # No format check here: any wrong input gets the same "wrong email or password".
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])
    remember = BooleanField("Keep me signed in on this device", default=False)


class SsoStartForm(FlaskForm):
    domain = StringField(
        "Custom domain or work email", validators=[DataRequired(), Length(max=320)],
        description="Your account's custom domain (for example acme), or your work email.")
