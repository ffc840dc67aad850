"""Accounts: create, find and list; shared by the CLI, the login pages and the demo setup."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.accounts import email_domains
from portal.accounts.domains import held_problem, release_domain, take_domain
from portal.audit import Event
from portal.directory.users import create_user
from portal.errors import ServiceError
from portal.extensions import db
from portal.models import Account, SsoConfig, User, domain_problem, normalise_domain
from portal.permissions import ACCOUNT_ADMIN


def create_account(name: str, domain: str, admin_email: str, admin_password: str | None = None,
                   actor=None) -> tuple[Account, User]:
    """Create an account with its first Account admin (caller commits)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("The account needs a name.")
    domain = normalise_domain(domain)
    problem = domain_problem(domain)
    if problem:
        raise ServiceError(f"Invalid custom domain '{domain}': {problem}")
    held = held_problem(domain, None)
    if held:
        raise ServiceError(held)
    taken = ServiceError(f"The custom domain '{domain}' is already used by another account.")
    if Account.domain_taken(domain):
        raise taken
    account = Account(name=name, domain=domain)
    try:
        with db.session.begin_nested():  # a concurrent create of the same domain: undo only this insert
            db.session.add(account)
            db.session.add(SsoConfig(account=account))
            take_domain(domain, account)  # a hold that has expired
    except IntegrityError:
        raise taken from None
    admin = create_user(account, admin_email, password=admin_password, role=ACCOUNT_ADMIN, via="cli", actor=actor)
    audit.record(account, Event.ACCOUNT_CREATED, actor=actor, subject=domain, name=name, admin=admin.email)
    return account, admin


def delete_account(domain: str, actor=None, now: datetime | None = None) -> tuple[int, datetime | None]:
    """Delete the account with everything of it (users, teams, SSO, audit log); its custom domain is held.

    Returns how many users went and the end of the domain's hold (caller commits). The deletion event is
    an operator event (no account), so it outlives the account's own audit log.
    """
    account = get_account(domain)
    name, domain = account.name, account.domain
    users = db.session.scalar(select(func.count(User.id)).where(User.account_id == account.id))
    held_until = release_domain(account, domain, now)  # nobody else takes the domain (and its Okta tiles) at once
    db.session.flush()
    # The database cascades the delete to every tenant row; the ORM would load and orphan them one by one.
    db.session.execute(delete(Account).where(Account.id == account.id))
    db.session.expire_all()
    audit.record(None, Event.ACCOUNT_DELETED, actor=actor, subject=domain, name=name, users=users,
                 released_until=held_until.strftime("%Y-%m-%d") if held_until else None)
    return users, held_until


def find_for_sso(text: str) -> Account | None:
    """The account for a custom domain, or for a work email whose domain an account verified by DNS."""
    text = (text or "").strip().lower()
    if "@" in text:
        # Only a verified domain routes: a listed one is merely a claim anybody could make.
        owner = email_domains.route_account_id(text.rsplit("@", 1)[1])
        return db.session.get(Account, owner) if owner is not None else None
    if "/" in text:  # a pasted SP Initiation URL: take its last part
        text = text.rstrip("/").rsplit("/", 1)[1]
    return Account.by_domain(text)


def list_accounts() -> list[Account]:
    """Every account, by custom domain."""
    return list(db.session.scalars(select(Account).order_by(Account.domain)))


def get_account(domain: str) -> Account:
    """The account with this custom domain, or ServiceError."""
    account = Account.by_domain(domain)
    if account is None:
        raise ServiceError(f"No account has the custom domain '{normalise_domain(domain)}'.")
    return account
