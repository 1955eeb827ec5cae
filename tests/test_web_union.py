"""The union dashboard: login, CSRF, station editing and status, reports, pipeline, coverage."""

from __future__ import annotations

import io
import json

import pytest

from geodata.demo import load_demo
from stations.candidates import get_candidate, list_candidates
from stations.lifecycle import history
from webmap import feedback
from webmap.app import create_app
from webmap.testing import csrf_token_from, login
from webmap.users import add_user, set_password

PASSWORD = "correct horse battery"


@pytest.fixture
def demo(store):
    load_demo(store)
    add_user(store, "guangwai", PASSWORD, district="西城区")
    return store


@pytest.fixture
def app(demo):
    return create_app({"TESTING": True, "TILES": "none"})


@pytest.fixture
def client(app):
    c = app.test_client()
    assert login(c, "guangwai", PASSWORD).status_code == 302
    return c


def _token(client, url: str) -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))


@pytest.mark.parametrize("url", ["/union/", "/union/stations", "/union/stations/1",
                                 "/union/candidates", "/union/coverage", "/union/reports",
                                 "/union/download/stations.xlsx"])
def test_every_dashboard_page_needs_a_login(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/union/login" in response.headers["Location"]


def test_posts_without_login_are_refused(app):
    response = app.test_client().post("/union/stations/1/status", data={"action": "close"})
    assert response.status_code in (400, 401)  # no CSRF token, and nobody logged in


def test_login_sets_a_hardened_session_cookie(app):
    c = app.test_client()
    response = login(c, "guangwai", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert c.get("/union/").status_code == 200


def test_secure_cookie_when_configured(demo):
    app = create_app({"TESTING": True, "TILES": "none", "SESSION_COOKIE_SECURE": True})
    cookie = login(app.test_client(), "guangwai", PASSWORD).headers["Set-Cookie"]
    assert "Secure" in cookie


def test_wrong_password_and_lockout(demo):
    app = create_app({"TESTING": True, "TILES": "none", "LOGIN_MAX_FAILURES": 3})
    c = app.test_client()
    for _ in range(3):
        assert login(c, "guangwai", "wrong password!!").status_code == 401
    assert login(c, "guangwai", PASSWORD).status_code == 429  # locked for a while
    assert c.get("/union/").status_code == 302


def test_login_requires_the_csrf_token(app):
    response = app.test_client().post("/union/login", data={"username": "guangwai",
                                                            "password": PASSWORD})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_password_change_logs_out_other_sessions(client, demo):
    assert client.get("/union/").status_code == 200
    set_password(demo, "guangwai", "another long password")
    assert client.get("/union/").status_code == 302


def test_logout(client):
    token = _token(client, "/union/")
    assert client.post("/union/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/union/").status_code == 302


def test_a_cookie_captured_before_logout_is_dead_after_it(app, client):
    captured = client.get_cookie("nuanxin_session").value
    client.post("/union/logout", data={"csrf_token": _token(client, "/union/")})
    replay = app.test_client()
    replay.set_cookie("nuanxin_session", captured)
    response = replay.get("/union/")
    assert response.status_code == 302 and "/union/login" in response.headers["Location"]


def test_lockout_is_per_address_not_per_account(app):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(5):
        assert login(attacker, "guangwai", "wrong password!!").status_code == 401
    assert login(attacker, "guangwai", PASSWORD).status_code == 429
    user = app.test_client()
    user.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(user, "guangwai", PASSWORD).status_code == 302


@pytest.mark.parametrize("target", ["/union/\r\nSet-Cookie: x=1", "https://evil.example/",
                                    "//evil.example/", "/union/stations"],
                         ids=["crlf", "absolute", "scheme-relative", "local"])
def test_login_next_is_followed_only_when_local(app, target):
    c = app.test_client()
    assert c.get("/union/login", query_string={"next": target}).status_code == 200
    token = csrf_token_from(c.get("/union/login").get_data(as_text=True))
    response = c.post("/union/login", data={"username": "guangwai", "password": PASSWORD,
                                            "csrf_token": token, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == (target if target == "/union/stations" else "/union/")


def test_station_table_filters_and_pages(client, demo):
    html = client.get("/union/stations?district=西城区&status=open").get_data(as_text=True)
    open_xicheng = [s for s in demo.list_stations(status="open", district="西城区")]
    assert f"站点（{len(open_xicheng)}）" in html
    html = client.get("/union/stations?q=鸭子桥").get_data(as_text=True)
    assert "鸭子桥社区暖心驿站" in html and "站点（1）" in html
    assert client.get("/union/stations?status=bogus").status_code == 400


def test_station_edit_validates_like_an_import(client, demo):
    s = demo.list_stations()[0]
    url = f"/union/stations/{s.id}"
    form = {"csrf_token": _token(client, url), "name": "新名字 <b>x</b>", "address": s.address,
            "host_type": "bank", "district": s.district, "street": s.street, "lon": str(s.lon),
            "lat": str(s.lat), "access": "open", "opening_hours": "周一至周五 8:00-18:00",
            "area_m2": "20", "capacity": "", "contact_name": "", "contact_phone": "",
            "notes": "", "verified_on": "2025-02-01", "amenity_toilet": "no",
            "amenity_hot_water": "yes"}
    assert client.post(url, data=form).status_code == 302
    after = demo.get_station(s.id)
    assert (after.name, after.host_type, after.access) == ("新名字 <b>x</b>", "bank", "open")
    assert after.amenities["toilet"] == "no" and after.amenities["microwave"] == "unknown"
    assert after.code == s.code and after.status == s.status
    page = client.get(url).get_data(as_text=True)
    assert "新名字 &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    bad = dict(form, lat="95", csrf_token=_token(client, url))
    response = client.post(url, data=bad)
    # issue 8: bad input is a 400 (the form is shown again with the reason), never a 500
    assert response.status_code == 400 and "lat" in response.get_data(as_text=True)
    assert demo.get_station(s.id).lat == s.lat
    for field, value in (("capacity", "1e300"), ("area_m2", "1e308"), ("capacity", "nan")):
        response = client.post(url, data=dict(form, **{field: value},
                                               csrf_token=_token(client, url)))
        assert response.status_code == 400 and field in response.get_data(as_text=True)
    assert demo.get_station(s.id).capacity == s.capacity


def test_status_change_needs_a_reason_and_is_audited(client, demo):
    s = demo.list_stations(status="open")[0]
    url = f"/union/stations/{s.id}"
    client.post(url + "/status", data={"csrf_token": _token(client, url), "action": "suspend",
                                       "reason": ""})
    assert demo.get_station(s.id).status == "open"  # refused: no reason
    client.post(url + "/status", data={"csrf_token": _token(client, url), "action": "suspend",
                                       "reason": "装修"})
    after = demo.get_station(s.id)
    assert (after.status, after.status_reason) == ("suspended", "装修")
    log = history(demo, station_id=s.id)
    assert log[-1]["actor"] == "guangwai" and log[-1]["to"] == "suspended"


def test_reports_flow_from_station_page_to_dashboard(app, client, demo):
    public = app.test_client()
    s = demo.list_stations()[0]
    page = public.get(f"/stations/{s.id}").get_data(as_text=True)
    response = public.post(f"/stations/{s.id}/report", data={
        "csrf_token": csrf_token_from(page), "kind": "registration", "note": "要下载 App"})
    assert response.status_code == 302
    assert "谢谢" in public.get(f"/stations/{s.id}").get_data(as_text=True)
    html = client.get("/union/reports").get_data(as_text=True)
    assert "要下载 App" in html and "需要下载 APP 或登记才能进" in html
    report = feedback.list_reports(demo)[0]
    client.post(f"/union/reports/{report['id']}", data={
        "csrf_token": _token(client, "/union/reports"), "status": "handled"})
    assert feedback.list_reports(demo)[0]["status"] == "handled"


def test_candidate_pipeline_screen_visit_agree_open(client, demo):
    token = _token(client, "/union/candidates")
    assert client.post("/union/candidates/screen", data={"csrf_token": token}).status_code == 302
    results = {c.screening_result for c in list_candidates(demo)}
    assert results <= {"pass", "fail", "unknown"} and None not in results
    # a failed screening blocks the visit; pass or "to be confirmed" may go on
    ready = [c for c in list_candidates(demo) if c.screening_result == "pass"
             and c.precisely_located]
    assert ready, "the demo has candidates that may be visited"
    c = ready[0]
    page = client.get("/union/candidates").get_data(as_text=True)
    assert c.name in page and ("符合" in page or "待确认" in page)
    url = f"/union/candidates/{c.id}"
    for action, extra in (("visit", {"notes": "实地走访：一层临街，有热水"}), ("agree", {}),
                          ("open", {"code": "GW-TEST-01"})):
        response = client.post(url + "/step", data={"csrf_token": _token(client, url),
                                                     "action": action, **extra})
        assert response.status_code == 302
    after = get_candidate(demo, c.id)
    assert after.stage == "opened" and after.station_id is not None
    assert demo.get_station(after.station_id).code == "GW-TEST-01"
    assert [h["actor"] for h in history(demo, c.id)][-3:] == ["guangwai"] * 3


def test_refused_step_is_a_message_not_an_error(client, demo):
    c = list_candidates(demo)[0]
    url = f"/union/candidates/{c.id}"
    response = client.post(url + "/step", data={"csrf_token": _token(client, url),
                                                "action": "open"}, follow_redirects=True)
    assert response.status_code == 200 and "不能从" in response.get_data(as_text=True)


def test_candidate_import_reports_bad_rows(client, demo):
    sheet = ("名称,地址,经度,纬度\n好单位,北京市西城区广安门外大街1号,116.34,39.88\n"
             ",没有名字的行,,\n")
    data = {"csrf_token": _token(client, "/union/candidates"), "crs": "wgs84",
            "file": (io.BytesIO(sheet.encode("utf-8")), "sheet.csv")}
    response = client.post("/union/candidates/import", data=data,
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "导入 1 行" in html and "拒绝 1 行" in html
    assert "<td>名称</td>" in html


def test_coverage_page_shows_numbers_and_a_map(client):
    html = client.get("/union/coverage?district=西城区&radius=1000&add=2").get_data(as_text=True)
    assert 'id="covered-share"' in html and "L.map(" in html and "推荐新站点" in html


def test_coverage_page_reports_bad_input_as_a_message(client):
    response = client.get("/union/coverage?district=火星区")
    assert response.status_code == 200 and "火星区" in response.get_data(as_text=True)
    assert client.get("/union/coverage?radius=abc").status_code == 400


@pytest.mark.parametrize("url, magic", [
    ("/union/download/stations.xlsx", b"PK"), ("/union/download/stations.csv", None),
    ("/union/coverage/report.xlsx?district=西城区&add=1", b"PK"),
    ("/union/candidates/template.xlsx", b"PK"),
])
def test_downloads(client, url, magic):
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response.headers[
        "Content-Disposition"]
    if magic:
        assert response.data.startswith(magic)


@pytest.mark.parametrize("url", ["/union/download/stations.geojson",
                                 "/union/coverage/coverage.geojson?district=西城区",
                                 "/union/coverage/sites.geojson?district=西城区&add=2"])
def test_geojson_downloads(client, url):
    body = json.loads(client.get(url).data)
    assert body["type"] == "FeatureCollection"
    if "sites" not in url:  # sites need candidates that passed screening
        assert body["features"]


def test_recommended_sites_come_from_candidates_that_passed(client, demo):
    from stations.candidates import update_candidate
    from stations.lifecycle import screen_result

    # move four candidates to the north of 西城区, far from the demo stations in 广安门外
    located = [c for c in list_candidates(demo) if c.precisely_located][:4]
    for i, c in enumerate(located):
        c.lon, c.lat = 116.360 + 0.01 * i, 39.935
        update_candidate(demo, c)
        screen_result(demo, c.id, actor="test", result="pass", score=1.0)
    html = client.get("/union/coverage?district=西城区&radius=500&add=2").get_data(as_text=True)
    chosen = [c for c in located if f"/union/candidates/{c.id}" in html]
    assert 1 <= len(chosen) <= 2
    body = json.loads(client.get("/union/coverage/sites.geojson?district=西城区&radius=500&add=2")
                      .data)
    assert {f["properties"]["id"] for f in body["features"]} == {c.id for c in chosen}


def test_opening_a_not_passing_candidate_needs_a_written_override(client, demo):
    from stations import lifecycle

    c = next(c for c in list_candidates(demo) if c.precisely_located)
    lifecycle.screen_result(demo, c.id, actor="t", result="unknown")
    lifecycle.visit(demo, c.id, actor="t", notes="看过")
    lifecycle.agree(demo, c.id, actor="t")
    url = f"/union/candidates/{c.id}"
    page = client.get(url).get_data(as_text=True)
    assert "强制建站需写明理由" in page  # a district account may override
    refused = client.post(url + "/step", data={"csrf_token": _token(client, url),
                                               "action": "open"}, follow_redirects=True)
    assert "只有「符合」才能建站" in refused.get_data(as_text=True)
    assert get_candidate(demo, c.id).stage == "agreed"
    done = client.post(url + "/step", data={"csrf_token": _token(client, url), "action": "open",
                                            "override": "街道急需，先开后补材料"},
                       follow_redirects=True)
    assert "已建站" in done.get_data(as_text=True)
    opened = get_candidate(demo, c.id)
    assert opened.stage == "opened"
    note = [h for h in history(demo, c.id) if h["action"] == "open"][0]["note"]
    assert "强制建站" in note and "街道急需" in note


def test_a_street_account_cannot_override(demo):
    from stations import lifecycle

    add_user(demo, "jiedao", PASSWORD, role="street", district="西城区", street="广外")
    c = next(c for c in list_candidates(demo) if c.precisely_located
             and c.street == "广安门外街道")
    lifecycle.screen_result(demo, c.id, actor="t", result="unknown")
    lifecycle.visit(demo, c.id, actor="t", notes="看过")
    lifecycle.agree(demo, c.id, actor="t")
    street = create_app({"TESTING": True, "TILES": "none"}).test_client()
    assert login(street, "jiedao", PASSWORD).status_code == 302
    url = f"/union/candidates/{c.id}"
    assert "需由管理员或区级账号" in street.get(url).get_data(as_text=True)
    response = street.post(url + "/step", data={"csrf_token": _token(street, url),
                                                "action": "open", "override": "我想开"})
    assert response.status_code == 403 and get_candidate(demo, c.id).stage == "agreed"


def test_the_first_screen_answers_the_unions_questions(demo):
    from geodata.planning.coverage import area_coverage

    add_user(demo, "jiedao", PASSWORD, role="street", district="西城区", street="广外")
    street = create_app({"TESTING": True, "TILES": "none"}).test_client()
    assert login(street, "jiedao", PASSWORD).status_code == 302
    html = street.get("/union/").get_data(as_text=True)
    expected = area_coverage(demo, district="西城区", street="广安门外街道")
    assert f"{expected.covered_share * 100:.1f}%" in html.split('id="overview-covered">')[1][:12]
    assert f"{expected.multi_covered_share * 100:.1f}%" in html.split(
        'id="overview-multi">')[1][:12]
    assert "广安门外街道：覆盖情况（1000 米服务半径）" in html and "L.map(" in html
    assert "候选</div>" not in html or "筛选通过" in html
    for label in ("候选", "筛选通过", "待定位", "走访", "同意", "建站"):
        assert f"{label}</th>" in html
    assert 'id="reports-waiting"' in html
    mine = [c for c in list_candidates(demo) if c.street == "广安门外街道" or (
        c.needs_pin and c.district in ("", "西城区") and not c.street)]
    live = [c for c in mine if c.stage != "declined"]
    for key, n in (("candidates", len(live)),
                   ("passed", sum(c.screening_result == "pass" for c in live)),
                   ("needs_pin", sum(c.needs_pin for c in live)),
                   ("opened", sum(c.stage in ("opened", "suspended", "closed") for c in live))):
        assert f'<div class="step step-{key}"><b>{n}</b>' in html, key
    # a district union sees its streets side by side
    district = street.application.test_client()
    assert login(district, "guangwai", PASSWORD).status_code == 302
    page = district.get("/union/").get_data(as_text=True)
    assert "西城区：覆盖情况" in page and "<th>街道</th><th>已覆盖</th><th>交叉覆盖</th>" in page
    assert page.count("<tr><td>") >= 10


def test_a_visit_form_records_facts_rescreens_and_the_station_shows_them(client, demo):
    from stations import lifecycle

    c = next(c for c in list_candidates(demo) if c.precisely_located
             and c.amenities.get("toilet") != "yes")
    lifecycle.screen_result(demo, c.id, actor="t", result="unknown")
    url = f"/union/candidates/{c.id}"
    form = {"csrf_token": _token(client, url), "action": "visit", "notes": "实地看过",
            "area_m2": "25", "floor": "1", "street_facing": "是",
            "opening_hours": "每天 6:00-21:00", "access": "直接进入",
            "amenity_toilet": "有", "amenity_seats": "有", "amenity_hot_water": "有",
            "amenity_microwave": "有", "amenity_phone_charging": "有",
            "amenity_first_aid": "有", "amenity_cooling": "有", "photos": "a.jpg\nb.jpg"}
    page = client.post(url + "/step", data=form, follow_redirects=True).get_data(as_text=True)
    assert "已记录走访，记录" in page and "项实地情况；重新筛选" in page
    visited = get_candidate(demo, c.id)
    assert visited.area_m2 == 25 and visited.amenities["toilet"] == "yes"
    facts = visited.extra["visits"][-1]["facts"]
    assert facts["amenities"]["seen"]["toilet"] == "yes"
    assert facts["amenities"]["before"]["toilet"] == c.amenities["toilet"]  # the sheet's value
    assert visited.extra["visits"][-1]["photos"] == ["a.jpg", "b.jpg"]
    assert "实地 25.0（表格" in page  # the evidence on the candidate page
    bad = client.post(url + "/step", data={**form, "csrf_token": _token(client, url),
                                           "area_m2": "很大"}, follow_redirects=True)
    assert "面积" in bad.get_data(as_text=True) and get_candidate(demo, c.id).area_m2 == 25
    assert visited.screening_result == "pass"  # what the visit saw settled the unknowns
    for action in ("agree", "open"):
        client.post(url + "/step", data={"csrf_token": _token(client, url), "action": action})
    station_id = get_candidate(demo, c.id).station_id
    props = client.get(f"/api/stations/{station_id}").get_json()["properties"]
    assert props["amenities"]["toilet"] == "yes" and props["area_m2"] == 25
