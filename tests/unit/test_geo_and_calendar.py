from datetime import date

import pytest

from shared import calendar, geo


@pytest.mark.parametrize("address, key", [
    ("Rue Malibran 40, 1050 Ixelles", "rue malibran 40"),
    ("rue malibran 40A", "rue malibran 40a"),
    ("Chaussée d'Ixelles 227 bte 4, 1050 Ixelles", "chaussee d ixelles 227"),
    ("Place Flagey", None),
    (None, None),
])
def test_address_key_names_one_building(address, key):
    assert geo.address_key(address) == key


def test_working_days_between_skips_weekends_and_holidays():
    # Mon 9 Nov 2026 -> Mon 16 Nov: 10, 12, 13, 16 (11 Nov and the weekend skipped)
    assert calendar.working_days_between(date(2026, 11, 9), date(2026, 11, 16)) == 4
    assert calendar.working_days_between(date(2026, 11, 16), date(2026, 11, 9)) == 0
