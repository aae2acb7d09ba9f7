"""The demo accounts (their names, roles and organisations come from lisa/demo.py), so a person
trying the embedded platform can log in as each kind of user."""
from services.gateway import auth
from shared.db import Database
from shared.spec import DemoContext


def seed_demo(database: Database, context: DemoContext) -> str | None:
    with database.session() as session:
        for username, (role, organisation) in context.accounts.items():
            auth.create_user(session, username, context.password, role, organisation,
                             [context.antenna_id])
        session.commit()
    return f"{len(context.accounts)} demo accounts"
