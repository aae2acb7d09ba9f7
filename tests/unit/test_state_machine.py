import pytest

from shared import state_machine

TABLE = {"a": frozenset({"b"}), "b": frozenset()}


def test_a_move_in_the_table_passes_and_one_outside_names_the_allowed_moves():
    state_machine.check(TABLE, "a", "b", ValueError)
    with pytest.raises(KeyError, match="allowed: b"):
        state_machine.check(TABLE, "a", "a", KeyError)
    with pytest.raises(ValueError, match="allowed: none"):
        state_machine.check(TABLE, "b", "a", ValueError)


@pytest.mark.parametrize("table, statuses", [
    (TABLE, ("a", "b", "c")),                         # a status without a row
    ({"a": frozenset({"z"}), "b": frozenset()}, ("a", "b")),  # an unknown target
])
def test_a_broken_table_is_refused(table, statuses):
    with pytest.raises(ValueError):
        state_machine.validate(table, statuses)
