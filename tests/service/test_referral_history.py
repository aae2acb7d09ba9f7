"""Every status change of a referral leaves a history row (who, when, from, to, why), shown in
the view of the referral to whoever may read its metadata, and never any content."""
from tests.service.test_referrals_embedded import PERSON, add_users, send


def test_the_history_of_a_referral_is_in_its_view(shared_platform):
    api = add_users(shared_platform)
    referral = send(api)
    path = f"/api/v1/referrals/{referral['id']}"
    for step, body in (("accept", {}), ("contact-made", {}),
                       ("close", {"outcome": "successful"})):
        assert api.call("POST", f"{path}/{step}", "addiction", json=body).status_code == 200
    for user in ("streetworker", "addiction", "coordinator", "auditor"):
        view = api.call("GET", path, user).json()
        assert [(h["from_status"], h["to_status"]) for h in view["history"]] == [
            (None, "sent"), ("sent", "accepted"), ("accepted", "contact_made"),
            ("contact_made", "closed")], user
        assert [h["actor"] for h in view["history"]] == ["streetworker"] + ["addiction"] * 3
        assert view["history"][-1]["note"] == "outcome: successful"
        assert PERSON["message"] not in str(view["history"])
    assert api.call("GET", path, "police").status_code == 404


def test_a_declined_referral_keeps_its_reason_out_of_the_history(shared_platform):
    api = add_users(shared_platform)
    referral = send(api)
    reason = "Hors de notre zone d'intervention, rue de la Paix."
    api.call("POST", f"/api/v1/referrals/{referral['id']}/decline", "addiction",
             json={"reason": reason})
    view = api.call("GET", f"/api/v1/referrals/{referral['id']}", "coordinator").json()
    assert [h["to_status"] for h in view["history"]] == ["sent", "declined"]
    assert reason not in str(view["history"])
