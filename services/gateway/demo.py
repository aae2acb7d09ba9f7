"""The demo accounts (their names, roles and organisations come from lisa/demo.py), so a person
trying the embedded platform can log in as each kind of user. An account that exists is left as
it is."""
from sqlalchemy import select

from services.gateway import auth
from services.gateway.models import User
from shared.db import Database
from shared.spec import DemoContext


def seed_demo(database: Database, context: DemoContext) -> str | None:
    with database.session() as session:
        existing = set(session.scalars(select(User.username)))
        missing = {name: account for name, account in context.accounts.items()
                   if name not in existing}
        for username, (role, organisation) in missing.items():
            auth.create_user(session, username, context.password, role, organisation,
                             [context.antenna_id])
        session.commit()
    return f"{len(missing)} demo accounts" if missing else None
