"""Daily digests go out at each user's local midnight: the digest job runs every hour and
picks the users whose day starts in that hour in their time zone (their time tracking
setting, else UTC; a zone half an hour off gets it at 00:30)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

from projections.notifications_queries import digest_candidates
from tests.support.notifications import make_team, uid, wait_for_inbox


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_daily_digests_follow_each_users_time_zone(api, client, settings):
    team = make_team(api, client)
    for person, zone in ((team.bob, "America/New_York"), (team.cid, "Asia/Kolkata")):
        response = client.put(
            "/api/v1/time-tracking/settings", json={"timezone": zone}, headers=person["headers"]
        )
        assert response.status_code == 200, response.text
    for person in (team.bob, team.cid, team.ann):  # daily (the default), by e-mail
        body = {"title": "Review", "assignee_id": uid(person)}
        headers = (team.bob if person is team.ann else team.ann)["headers"]
        response = client.post(
            f"/api/v1/projects/{team.project_id}/tasks", json=body, headers=headers
        )
        assert response.status_code == 201, response.text
    for person in (team.bob, team.cid, team.ann):
        wait_for_inbox(client, person, lambda p: p["data"] != [], type="assigned")
    ours = {uid(team.bob): "bob", uid(team.cid): "cid", uid(team.ann): "ann"}
    day = datetime.now(UTC).date() + timedelta(days=2)

    def picked(until: datetime) -> set[str]:
        with psycopg.connect(settings.database_url) as conn:
            found = digest_candidates(conn, "daily", until)
        return {ours[str(u)] for u in found if str(u) in ours}

    new_york = local_midnight(day, "America/New_York")
    assert picked(new_york) == {"bob"}
    assert picked(local_midnight(day, "UTC")) == {"ann"}  # no setting: UTC
    kolkata = local_midnight(day, "Asia/Kolkata")  # 18:30 UTC: no hour starts then
    assert kolkata.minute == 30
    assert picked(kolkata.replace(minute=0)) == set()  # 23:30 there
    assert picked(kolkata + timedelta(minutes=30)) == {"cid"}  # 00:30 there
    with psycopg.connect(settings.database_url) as conn:  # hourly digests: any hour
        hourly = digest_candidates(conn, "hourly", new_york)
    assert not {str(u) for u in hourly} & set(ours)
