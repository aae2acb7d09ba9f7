
import pytest

from shared import geo


@pytest.mark.parametrize("address, key", [
    ("Rue Malibran 40, 1050 Ixelles", "rue malibran 40"),
    ("rue malibran 40A", "rue malibran 40a"),
    ("Chaussée d'Ixelles 227 bte 4, 1050 Ixelles", "chaussee d ixelles 227"),
    ("Place Flagey", None),
    (None, None),
])
def test_address_key_names_one_building(address, key):
    assert geo.address_key(address) == key

