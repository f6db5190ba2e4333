"""A relationship manager sees and touches only their own applications: another manager's
answers 404, exactly as if it did not exist."""

import pytest

from tests.conftest import slug
from tests.factories import at


class TestAnotherManagersApplication:
    @pytest.fixture
    async def theirs(self, desk, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        return await desk.create()

    async def test_read_is_404(self, desk, theirs):
        response = await desk.client.get(f"/v1/applications/{theirs['id']}", headers=desk.other_rm)
        assert response.status_code == 404
        assert slug(response) == "not-found"
        unknown = await desk.client.get(
            "/v1/applications/0190a0a0-0000-7000-8000-000000000000", headers=desk.other_rm
        )
        assert response.json()["detail"] == unknown.json()["detail"]

    @pytest.mark.parametrize("action,body", [("submit", None), ("withdraw", {"reason": "x"})])
    async def test_changes_are_404_and_change_nothing(self, desk, theirs, action, body):
        response = await desk.client.post(
            f"/v1/applications/{theirs['id']}/{action}", json=body, headers=desk.other_rm
        )
        assert response.status_code == 404
        assert (await desk.get(theirs))["version"] == theirs["version"]

    async def test_list_shows_only_own(self, desk, theirs):
        mine = (await desk.client.get("/v1/applications", headers=desk.other_rm)).json()
        assert theirs["id"] not in [a["id"] for a in mine["items"]]
        # Asking for the other manager's id explicitly does not widen the view.
        named = await desk.client.get(
            "/v1/applications",
            params={"relationship_manager_id": desk.rm_id},
            headers=desk.other_rm,
        )
        assert named.json()["items"] == []
        own = (await desk.client.get("/v1/applications", headers=desk.rm)).json()
        assert theirs["id"] in [a["id"] for a in own["items"]]

    @pytest.mark.parametrize("who", ["bank", "officer", "admin"])
    async def test_bank_roles_see_every_application(self, desk, theirs, who):
        response = await desk.client.get(
            f"/v1/applications/{theirs['id']}", headers=getattr(desk, who)
        )
        assert response.status_code == 200

    async def test_bank_system_acts_for_any_manager(self, desk, theirs):
        submitted = await desk.submit(theirs, headers=desk.bank)
        assert submitted["state"] == "submitted"
