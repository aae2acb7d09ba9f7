"""No tight requeue loops (review of issue 7, finding 6): a message with bad counter headers is
handled (here dead-lettered with its reason), not failed on; when the dead letter itself cannot
be published, the message goes back to the broker after a delay that doubles each time, and is
dead-lettered once the letter can be sent."""
from nameko.testing.services import entrypoint_waiter

from shared import handlers
from shared.handlers import DeadLetters, list_dead_letters
from tests.conftest import eventually
from tests.unit import test_retries_and_dead_letters as retries
from tests.unit.test_outbox_and_handlers import envelope
from tests.unit.test_retries_and_dead_letters import MEMORY, Flaky, publish

flaky = retries.flaky   # the same fixture


def test_bad_counter_headers_do_not_stop_the_dead_letter(flaky):
    container, db = flaky
    Flaky.behaviour = "reject"
    for headers in ({"x-lisa-attempt": "abc"}, {"x-lisa-replays": {"a": 1}},
                    {"x-lisa-attempt": "１２"}, {"x-lisa-attempt": -3}):
        with entrypoint_waiter(container, "on_reported"):
            publish(envelope(len(headers)), serializer="json", headers=headers)
    letters = list_dead_letters(MEMORY)
    assert len(letters) == 4
    assert all(letter["reason"].startswith("rejected: incident 1") for letter in letters)
    assert all(letter["attempts"] == 0 and letter["replays"] == 0 for letter in letters)


def test_a_letter_that_cannot_be_sent_is_requeued_with_growing_delays(flaky, monkeypatch):
    container, db = flaky
    Flaky.behaviour = "reject"
    waits = []
    broken = [True]
    send = DeadLetters.send

    def failing_send(self, letter, parked=False):
        if broken[0]:
            raise ConnectionError("the broker refused the letter")
        return send(self, letter, parked)

    def recording_wait(seconds):
        waits.append(seconds)
        handlers.eventlet.sleep(0.001)

    monkeypatch.setattr(DeadLetters, "send", failing_send)
    monkeypatch.setattr(handlers, "_wait_before_requeue", recording_wait)
    body = envelope(7)
    publish(body, serializer="json")
    eventually(lambda: len(waits) >= 6)
    assert waits[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert handlers.Backoff().delay("x") == 0.5
    backoff = handlers.Backoff()
    assert [backoff.delay("y") for _ in range(10)][-1] == handlers.Backoff.LONGEST
    broken[0] = False
    [letter] = eventually(lambda: list_dead_letters(MEMORY))
    assert letter["event_id"] == body["event_id"]
    assert not any(key.endswith(letter["event_id"]) for key in handlers.BACKOFF.failures)


def test_retries_and_letters_share_one_connection(flaky, monkeypatch):
    """Review of issue 7, finding 7: a connection was opened per retry and per dead letter."""
    from shared import memory_transport
    from tests.unit.test_retries_and_dead_letters import effect_count

    container, db = flaky
    opened = []
    establish = memory_transport.Transport.establish_connection

    def counting(self):
        opened.append(1)
        return establish(self)

    monkeypatch.setattr(memory_transport.Transport, "establish_connection", counting)
    Flaky.away = 6                                  # six retries, then processed
    publish(envelope(1), serializer="json")
    eventually(lambda: effect_count(db) == 1)
    Flaky.behaviour = "reject"
    for n in range(2, 5):                           # three dead letters
        with entrypoint_waiter(container, "on_reported"):
            publish(envelope(n), serializer="json")
    assert len(list_dead_letters(MEMORY)) == 3
    # the test's own publications and list_dead_letters open theirs; the service one, at most
    assert len(opened) <= 4 + 1 + 1, opened


def test_parked_letters_are_replayed_deliberately(flaky):
    """Review of issue 7, finding 9: `dlq-replay --parked` gives parked letters another chance;
    one that fails again is parked again; one that cannot be replayed stays parked."""
    from shared.handlers import replay_dead_letters
    from tests.unit.test_retries_and_dead_letters import dead_letter_directly, effect_count

    container, db = flaky
    dead_letter_directly(3, "break", container)
    replay_dead_letters(MEMORY)                          # fail again: parked
    eventually(lambda: len(list_dead_letters(MEMORY, parked=True)) == 3)
    publish(b"{oops", content_type="application/json", content_encoding="utf-8")
    eventually(lambda: list_dead_letters(MEMORY))
    replay_dead_letters(MEMORY)                          # undecodable: parked at once
    assert len(list_dead_letters(MEMORY, parked=True)) == 4
    Flaky.behaviour = "ok"                               # the cause is fixed
    counts = replay_dead_letters(MEMORY, parked=True)
    assert counts == {"replayed": 3, "parked": 0, "kept": 1}
    eventually(lambda: effect_count(db) == 3)
    [left] = list_dead_letters(MEMORY, parked=True)
    assert left["raw_body"] == "{oops"
    assert list_dead_letters(MEMORY) == []


def test_dlq_replay_has_a_parked_option(capsys):
    import pytest

    from lisa.cli import main

    with pytest.raises(SystemExit) as done:
        main(["dlq-replay", "--help"])
    assert done.value.code == 0 and "--parked" in capsys.readouterr().out
