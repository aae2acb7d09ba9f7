"""One unit of work: a session whose changes and the events they raise are committed together
(the outbox row in the same transaction), or rolled back together unless committed. What use
cases are handed (`uow`); it imports no nameko (shared.db's Database opens it).

    with self.db.unit_of_work() as uow:
        incident = ...                         # change state through uow.session
        uow.emit("incident_reported", {...})   # validated, written to the outbox
        uow.commit()                           # both or neither
"""
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import events, outbox

if TYPE_CHECKING:
    from shared.db import Database


class UnitOfWork:
    def __init__(self, database: "Database", correlation_id: str):
        self.database = database
        self.correlation_id = correlation_id
        self._session: Session | None = None
        self._emitted = 0

    @property
    def session(self) -> Session:
        """The unit of work's session, from `with` to its end."""
        if self._session is None:
            raise RuntimeError("Use the unit of work in a `with` block.")
        return self._session

    def __enter__(self) -> "UnitOfWork":
        self.database.lock.acquire()
        self._session = self.database.Session()
        return self

    def __exit__(self, *exc_info):
        try:
            self.session.rollback()
            self.session.close()
        finally:
            self._session = None
            self.database.lock.release()

    def emit(self, event_type: str, payload: dict, *, antenna_id: str,
             occurred_at: datetime | None = None) -> dict:
        """Record an event to publish once this unit of work commits. `occurred_at`: when the
        fact happened, if not now (an outing logged the evening after; indicators count it in
        its own period)."""
        envelope = events.build(
            self.database.service, event_type, payload,
            antenna_id=antenna_id, correlation_id=self.correlation_id, occurred_at=occurred_at,
        )
        self.session.execute(insert(self.database.outbox).values(**outbox.outbox_row(envelope)))
        self._emitted += 1
        return envelope

    def claim(self, consumer: str, event_id: str) -> bool:
        """Mark `event_id` as processed by `consumer`; False if it already was. Call first."""
        try:
            self.session.execute(insert(self.database.processed).values(
                consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC)))
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            return False
        return True

    def commit(self) -> None:
        self.session.commit()
        if self._emitted:
            self.database.wake_relay()
            self._emitted = 0
