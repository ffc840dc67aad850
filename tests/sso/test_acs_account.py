"""The ACS's account snapshot: the same answers as the ORM objects, and every model column accounted for."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.sso import acs_account
from portal.sso.acs_account import NOT_MIRRORED, SNAPSHOTS, columns
from portal.sso.setup.certs import parse_certificate
from portal.sso.setup.settings import certificate_row


@pytest.mark.parametrize("model", list(SNAPSHOTS), ids=lambda m: m.__name__)
def test_every_model_column_is_mirrored_or_deliberately_left_out(model):
    mirrored = set(columns(SNAPSHOTS[model]))
    table = {c.name for c in model.__table__.columns}
    # A new column fails here until someone decides whether the ACS reads it (then add it to the snapshot).
    assert mirrored | NOT_MIRRORED[model] == table
    assert not mirrored & NOT_MIRRORED[model]


def test_snapshot_gives_the_same_values_as_the_orm(sso_account, idp_keys):
    config = sso_account.sso_config
    config.group_filter, config.split_group_values, config.auto_create_groups = "Eng.*", True, True
    info = parse_certificate(idp_keys["second"].cert_pem)
    db.session.add(certificate_row(sso_account, info))  # rotation: two active certificates
    db.session.commit()
    snapshot = acs_account.load("ACME ")
    orm = sso_account
    for name in columns(acs_account.AcsAccount):
        assert getattr(snapshot, name) == getattr(orm, name)
    for name in columns(acs_account.AcsSsoConfig):
        assert getattr(snapshot.sso_config, name) == getattr(orm.sso_config, name), name
    assert [(c.id, c.pem, c.sha256_fingerprint) for c in snapshot.sso_config.certificates] == \
        [(c.id, c.pem, c.sha256_fingerprint) for c in orm.sso_config.certificates]
    assert len(snapshot.sso_config.certificates) == 2


def test_unknown_domain_and_account_without_settings(account):
    assert acs_account.load("nobody") is None
    db.session.delete(account.sso_config)
    db.session.commit()
    snapshot = acs_account.load("acme")
    assert snapshot.id == account.id and snapshot.sso_config is None
