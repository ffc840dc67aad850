"""SSO settings change through changes.record(): the version moves exactly when something a login checks changed."""
from __future__ import annotations

from sqlalchemy import select

from portal.accounts.domains import change_domain
from portal.extensions import db
from portal.models import AuditEvent
from portal.sso.setup import attributes, settings
from portal.sso.setup.settings import SettingsChange


def _updates(account) -> int:
    return len(list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.account_id == account.id, AuditEvent.event_type == "sso.settings_updated"))))


def test_each_door_bumps_the_version_once_and_audits_field_changes_once(account, admin):
    config = settings.get_config(account)
    db.session.commit()
    version = config.version or 1
    settings.apply(account, SettingsChange(idp_issuer="http://www.okta.com/exk1"), actor=admin)
    assert (config.version, _updates(account)) == (version + 1, 1)
    settings.apply(account, SettingsChange(idp_issuer="http://www.okta.com/exk1"), actor=admin)  # nothing changed
    assert (config.version, _updates(account)) == (version + 1, 1)
    attributes.apply(account, actor=admin, preset="entra")
    assert (config.version, _updates(account)) == (version + 2, 2)
    change_domain(account, "acme-two", actor=admin)  # the SP URLs changed: a new version, its own event
    assert (config.version, _updates(account)) == (version + 3, 2)
