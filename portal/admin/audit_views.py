"""The audit log page and its exports (registered on the admin blueprint)."""
from __future__ import annotations

from flask import Response, abort, render_template, request, stream_with_context
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from portal import audit
from portal.admin import audit_log
from portal.admin.views import bp
from portal.extensions import db
from portal.models.audit import OUTCOMES
from portal.permissions import VIEW_AUDIT_LOG, require_permission


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


def _filters_or_400() -> audit_log.AuditFilters:
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        abort(400, "; ".join(e for errors in form.errors.values() for e in errors))
    return form.filters()


@bp.get("/audit", endpoint="audit")
@require_permission(VIEW_AUDIT_LOG)
def audit_log_page():
    """The account's audit events, newest first, filtered, one keyset page at a time."""
    form = AuditFilterForm(formdata=request.args)
    account = current_user.account
    page = filters = None
    if form.validate():
        filters = form.filters()
        page = audit_log.page(account, filters, before=request.args.get("before", type=int),
                              after=request.args.get("after", type=int))
    return render_template("admin/audit.html", form=form, page=page, filters=filters,
                           event_types=audit_log.event_types(account), compact=audit_log.compact_json)


def _export(fmt: str) -> Response:
    account = current_user.account
    filters = _filters_or_400()
    # Snapshot bound: events arriving during the download (this export's own event too) are left out.
    upto = audit_log.latest_id(account) or 0
    audit.record(account, "audit.exported", subject=account.domain, format=fmt, filters=filters.as_args(),
                 via="web")
    db.session.commit()
    if fmt == "csv":
        body, mimetype = audit_log.export_csv(account, filters, upto), "text/csv"
    else:
        body, mimetype = audit_log.export_json(account, filters, upto), "application/json"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{account.domain}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/audit/export.csv")
@require_permission(VIEW_AUDIT_LOG)
def audit_export_csv():
    """The filtered audit log as a CSV download, streamed."""
    return _export("csv")


@bp.get("/audit/export.json")
@require_permission(VIEW_AUDIT_LOG)
def audit_export_json():
    """The filtered audit log as a JSON array download, streamed."""
    return _export("json")

