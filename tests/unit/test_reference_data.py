"""The shipped reference data is consistent: every code resolves."""
from services.incidents.events import ZONES
from services.incidents.reference import categories_reference, phenomena_reference
from shared.reference import partner_codes, partners


def test_category_codes_are_unique_across_both_levels():
    codes = [p["code"] for p in categories_reference()]
    codes += [c["code"] for p in categories_reference() for c in p["children"]]
    assert len(codes) == len(set(codes))


def test_every_sub_category_resolves():
    phenomena = {p["code"] for p in phenomena_reference()["phenomena"]}
    for parent in categories_reference():
        assert parent["children"], parent["code"]
        for child in parent["children"]:
            assert child["partner"] in partner_codes(), child
            assert child["zone"] in ZONES, child
            assert child.get("phenomenon") in phenomena | {None}, child
            assert 0 < child["sla"] <= 30, child
            assert child["fr"] and child["nl"] and child["en"]


def test_pssp_has_its_fifteen_phenomena():
    reference = phenomena_reference()
    assert reference["plan_period"]
    assert len(reference["phenomena"]) == 15


def test_partners_of_a_typical_antenna():
    codes = partner_codes()
    assert len(codes) == len(partners())
    assert {"police_zone", "gardiens_de_la_paix", "cellule_tags", "semja", "cpas"} <= codes


def test_categories_named_by_the_design_exist():
    codes = {c["code"] for p in categories_reference() for c in p["children"]}
    assert {"illegal_dumping", "noise", "neighbour_conflict", "group_nuisance", "syringes_found",
            "burglary", "bicycle_theft", "street_lighting", "road_defect", "housing_problem",
            "addiction", "homelessness", "intra_family_violence", "other_request"} <= codes
