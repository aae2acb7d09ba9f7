"""Adding a service is one folder plus one registry line: a throwaway service, written here into a
`services/<name>/` folder of its own (under tmp_path) and named in the registry, and nothing
else, is migrated, seeded, keyed, started by the embedded runner, wired to the events it
consumes, served by the gateway (REST and OpenAPI), given broker permissions and scraped by
Prometheus."""
import sys
import textwrap

import pytest

import services
from lisa import demo, local, platform
from shared import events, topology
from tests.conftest import eventually, running_platform

NAME = "notebook"

FILES = {
    "__init__.py": "",
    "models.py": '''
        from sqlalchemy import Integer, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        from shared import outbox


        class Base(DeclarativeBase):
            pass


        metadata = Base.metadata
        outbox.define_tables(metadata)


        class Note(Base):
            __tablename__ = "notes"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            ticket: Mapped[str] = mapped_column(String(40))
        ''',
    "events.py": '''
        from marshmallow import fields

        from shared.events import PayloadSchema


        class NoteTaken(PayloadSchema):
            ticket = fields.String(required=True)


        PUBLISHES = {"note_taken": (1, NoteTaken)}
        ''',
    "service.py": '''
        from sqlalchemy import func, select

        from services.notebook.models import Note, metadata
        from shared.config import Setting
        from shared.db import Database
        from shared.rpc import rpc
        from shared.handlers import DeadLetters, idempotent_handler
        from shared.dependencies import CallerIdentity
        from shared.ops import ops_service

        PAGE_SIZE = Setting("LISA_NOTEBOOK_PAGE_SIZE", "10", "notes on a page")


        class NotebookService:
            name = "notebook"
            db = Database(metadata, relay=True)
            caller = CallerIdentity()
            dead_letters = DeadLetters()

            @idempotent_handler("incidents", "incident_reported")
            def on_incident_reported(self, event):
                ticket = event.payload["ticket"]

                def note(uow):
                    uow.session.add(Note(ticket=ticket))
                    uow.emit("note_taken", {"ticket": ticket}, antenna_id=event.antenna_id)

                return note

            @rpc
            def count(self):
                self.caller.current  # noqa: B018  (verifies the caller)
                with self.db.session() as session:
                    return {"notes": session.scalar(select(func.count()).select_from(Note))}


        NotebookOps = ops_service("notebook", metadata)
        ''',
    "routes.py": '''
        from marshmallow import Schema, fields

        from shared.http import api
        from shared.rpc import ServiceClient


        class CountSchema(Schema):
            notes = fields.Integer(required=True)


        class NoteRoutes:
            notebook = ServiceClient("notebook")

            @api("GET", "/api/v1/notes", summary="How many notes", tag="notebook",
                 response=CountSchema)
            def count_notes(self, request, identity):
                return self.notebook.count()


        RESOURCES = (NoteRoutes,)
        ''',
    "demo.py": '''
        from services.notebook.models import Note


        def seed_demo(database, context):
            with database.session() as session:
                session.add(Note(ticket="DEMO"))
                session.commit()
            return "1 demo note"
        ''',
    "spec.py": '''
        from pathlib import Path

        from services.notebook import demo, events, routes
        from services.notebook.models import metadata
        from services.notebook.service import PAGE_SIZE, NotebookOps, NotebookService
        from shared.spec import ServiceSpec

        SPEC = ServiceSpec(
            name="notebook", service=NotebookService, ops=NotebookOps, ops_port=8099,
            metadata=metadata, migrations=Path(__file__).parent / "migrations",
            publishes=events.PUBLISHES, seed_demo=demo.seed_demo, settings=(PAGE_SIZE,),
            routes=routes.RESOURCES,
        )
        ''',
    "migrations/env.py": '''
        from services.notebook.models import metadata
        from shared.migrations import run_env

        run_env(metadata)
        ''',
    "migrations/versions/0001_notes.py": '''
        from alembic import op

        from services.notebook.models import metadata

        revision = "0001"
        down_revision = None
        branch_labels = None
        depends_on = None


        def upgrade() -> None:
            metadata.create_all(op.get_bind())
        ''',
}


@pytest.fixture
def notebook_registered(tmp_path, monkeypatch):
    """The folder services/notebook/ (outside the repository) and its line in the registry."""
    folder = tmp_path / "code" / "services" / NAME
    for relative, text in FILES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    monkeypatch.setattr(services, "__path__", [*services.__path__, str(folder.parent)])
    monkeypatch.setattr(platform, "SERVICES", (*platform.SERVICES, NAME))   # the one line
    monkeypatch.setattr(events, "EVENT_TYPES", dict(events.EVENT_TYPES))
    yield
    for module in [m for m in sys.modules if m == f"services.{NAME}" or
                   m.startswith(f"services.{NAME}.")]:
        del sys.modules[module]


def test_a_new_service_folder_and_registry_line_are_all_it_takes(notebook_registered,
                                                                tmp_path):
    spec = platform.spec(NAME)
    assert platform.problems(platform.specs()) == []
    assert events.EVENT_TYPES[(NAME, "note_taken")][0] == 1

    # the broker: its event queue, delay queues and a user allowed its own queues only
    classes = platform.service_classes()
    queue = topology.event_queue_name("incidents", "incident_reported", NAME,
                                      "on_incident_reported")
    assert queue in {q.name for q in topology.event_queues(classes)}
    configure, write, read = topology.broker_permissions(NAME, classes)
    # it consumes its event queue (which `migrate` declares) and publishes on its own exchange
    assert queue in read.replace("\\", "") and queue not in configure.replace("\\", "")
    assert "notebook\\.events" in write

    # keys, settings, Prometheus
    keys = local.fresh_keys()
    assert "LISA_NOTEBOOK_SIGNING_KEY" in keys
    assert "notebook:" in keys["LISA_IDENTITY_PUBLIC_KEYS"]
    assert "LISA_NOTEBOOK_PAGE_SIZE" in {s.variable for s in platform.settings()}
    assert "job_name: lisa-notebook" in platform.prometheus_config()
    assert "127.0.0.1:8099" in platform.prometheus_config()

    # the embedded runner: migrated, demo-seeded, started, consuming, served by the gateway
    with running_platform(tmp_path / "var", env=keys) as api:
        from lisa import cli

        assert "1 demo note" in demo.seed(cli.database_for, "ixelles-tulipe", only=[NAME])
        assert api.call("GET", "/api/v1/notes", "desk").json() == {"notes": 1}
        report = api.call("POST", "/api/v1/incidents", "desk", json={
            "category": "noise", "description": "Musique forte", "channel": "desk",
            "location": {"address": "Rue de la Tulipe 12, 1050 Ixelles"}})
        assert report.status_code == 201, report.text
        eventually(lambda: api.call("GET", "/api/v1/notes", "desk").json() == {"notes": 2})
        document = api.call("GET", "/api/v1/openapi.json").json()
        assert document["paths"]["/api/v1/notes"]["get"]["tags"] == ["notebook"]
        assert (tmp_path / "var" / f"{NAME}.db").exists()
    assert spec.consumes == {("incidents", "incident_reported")}
