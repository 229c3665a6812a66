"""/api/v1: token auth, permissions as on the web (engine.access), problem+json errors, pagination,
ETag/If-Match on task changes, CSRF, the OpenAPI document and Swagger UI."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app import database
from engine import tokens, users
from tests.app.conftest import sign_in
from tests.support.flows import REQUEST

Call = Callable[..., Any]


def make_token(app: Flask, username: str, *scopes: str) -> str:
    with database(app).transaction() as session:
        owner = users.actor(session, username)
        return tokens.create_token(session, owner=owner, name="test", scopes=scopes or ("api",), actor=owner)[1]


@pytest.fixture
def api(app: Flask) -> Callable[[str], Call]:
    """api("engineer")(method, path, json=…, headers=…) -> response, with a fresh token of that user."""
    def for_user(username: str, *scopes: str) -> Call:
        secret = make_token(app, username, *scopes)
        client = app.test_client()

        def call(method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
            return client.open(f"/api/v1{path}", method=method,
                               headers={"Authorization": f"Bearer {secret}", **(headers or {})}, **kwargs)
        return call
    return for_user


def start(call: Call, process: str = "service_desk", **changes: Any) -> Any:
    response = call("POST", f"/processes/{process}/instances", json={"data": {**REQUEST, **changes}})
    assert response.status_code == 201, response.text
    return response


def open_task(call: Call, instance_id: int, element_id: str) -> dict[str, Any]:
    response = call("GET", "/tasks", query_string={"scope": "visible", "page_size": 200})
    found = [t for t in response.json if t["instance_id"] == instance_id and t["element_id"] == element_id]
    assert len(found) == 1, response.json
    return found[0]


def task_etag(call: Call, task_id: int) -> str:
    response = call("GET", f"/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return str(response.headers["ETag"])


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    if code:
        assert body["code"] == code and body["type"] == f"urn:opsflow:problem:{code}"
    return dict(body)


# --- auth -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/processes"), ("GET", "/tasks"), ("GET", "/instances/1"), ("POST", "/tasks/1/claim"),
    ("GET", "/sla/policies"), ("GET", "/knowledge"), ("POST", "/alerts/zabbix"), ("GET", "/tokens")])
def test_every_endpoint_needs_a_token(app: Flask, method: str, path: str) -> None:
    response = app.test_client().open(f"/api/v1{path}", method=method, json={})
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = app.test_client().open(f"/api/v1{path}", method=method, json={},
                                   headers={"Authorization": "Bearer ofw_not-a-token"})
    assert_problem(wrong, 401)


def test_a_session_cookie_never_authenticates_the_api(app: Flask) -> None:
    """Otherwise any site could make a signed-in browser call it (CSRF)."""
    client = sign_in(app.test_client(), "service_desk")
    assert client.get("/inbox").status_code == 200
    assert_problem(client.get("/api/v1/tasks"), 401)
    assert_problem(client.post("/api/v1/tasks/1/claim", headers={"If-Match": "*"}), 401)


def test_token_requests_are_exempt_from_csrf(csrf_app: Flask) -> None:
    secret = make_token(csrf_app, "requester")
    response = csrf_app.test_client().post("/api/v1/processes/service_desk/instances", json={"data": REQUEST},
                                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 201, response.text
    # …while the web's own forms still need their CSRF token.
    assert sign_in_without_csrf(csrf_app) == 400


def sign_in_without_csrf(app: Flask) -> int:
    return int(app.test_client().post("/login", data={"username": "requester", "password": "x"}).status_code)


def test_revoked_token_stops_working_and_last_use_is_recorded(app: Flask, api: Callable[[str], Call]) -> None:
    call = api("engineer")
    assert call("GET", "/processes").status_code == 200
    mine = call("GET", "/tokens").json
    assert len(mine) == 1 and mine[0]["last_used_at"] is not None and "secret" not in mine[0]
    assert call("DELETE", f"/tokens/{mine[0]['id']}").json["revoked_at"] is not None
    assert_problem(call("GET", "/processes"), 401)


def test_a_deactivated_users_tokens_stop_working(app: Flask, api: Callable[[str], Call]) -> None:
    call = api("engineer2")
    assert call("GET", "/tasks").status_code == 200
    from engine.store.models import User
    with database(app).transaction() as session:
        users.get_user(session, "engineer2")
        session.query(User).filter(User.username == "engineer2").update({"is_active": False})
    assert_problem(call("GET", "/tasks"), 401)


def test_a_token_acts_with_its_users_groups_as_they_are_now(app: Flask, api: Callable[[str], Call]) -> None:
    call = api("engineer")
    assert_problem(call("GET", "/sla/policies"), 403)
    from engine.store.models import Group, User
    with database(app).transaction() as session:
        user = session.query(User).filter(User.username == "engineer").one()
        user.groups.append(session.get(Group, "service_desk"))
    assert call("GET", "/sla/policies").status_code == 200


def test_tokens_are_stored_hashed_and_shown_once(app: Flask, api: Callable[[str], Call]) -> None:
    made = api("engineer")("POST", "/tokens", json={"name": "ci"})
    assert made.status_code == 201 and made.json["secret"].startswith("ofw_")
    from engine.store.api_models import ApiToken
    with database(app).transaction() as session:
        row = session.get(ApiToken, made.json["id"])
        assert row is not None and row.secret_sha256 == tokens.digest(made.json["secret"])
        assert made.json["secret"] not in json.dumps(tokens.token_row(row), default=str)


def test_someone_elses_token_cannot_be_revoked(app: Flask, api: Callable[[str], Call]) -> None:
    other = api("engineer2")("GET", "/tokens").json[0]["id"]
    assert_problem(api("engineer")("DELETE", f"/tokens/{other}"), 404)


def test_the_web_page_makes_and_revokes_tokens(app: Flask) -> None:
    client = sign_in(app.test_client(), "engineer")
    made = client.post("/api-tokens", data={"name": "脚本", "scopes": "api"})
    assert made.status_code == 201
    secret = made.text.split('id="new-token" translate="no">')[1].split("<")[0]
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with database(app).transaction() as session:
        token_id = tokens.list_tokens(session, owner="engineer", actor=users.actor(session, "engineer"))[0].id
    assert client.post(f"/api-tokens/{token_id}/revoke").status_code == 302
    assert secret not in client.get("/api-tokens").text
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_cli_makes_lists_and_revokes_tokens(app: Flask) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["opsflow", "api-token", "create", "engineer", "--name", "nightly"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = runner.invoke(args=["opsflow", "api-token", "list", "engineer"])
    token_id = listed.output.split("\t")[0]
    assert "nightly" in listed.output and "active" in listed.output
    assert runner.invoke(args=["opsflow", "api-token", "revoke", token_id, "--user", "engineer"]).exit_code == 0
    assert app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    refused = runner.invoke(args=["opsflow", "api-token", "create", "engineer", "--name", "x", "--scope", "alerts"])
    assert refused.exit_code == 1 and "service desk" in refused.output


def test_an_alerts_only_token_cannot_use_the_rest_api(api: Callable[[str], Call]) -> None:
    assert_problem(api("service_desk", "alerts")("GET", "/tasks"), 403, "forbidden")


# --- processes and instances ------------------------------------------------------------------------

def test_processes_are_listed_with_pages_and_their_start_form(api: Callable[[str], Call]) -> None:
    call = api("requester")
    listed = call("GET", "/processes", query_string={"page_size": 2})
    assert listed.status_code == 200 and len(listed.json) == 2
    assert json.loads(listed.headers["X-Pagination"])["total"] >= 8
    detail = call("GET", "/processes/service_desk").json
    assert detail["start_form_key"] == "request"
    assert {"channel", "title"} <= {f["id"] for f in detail["start_form"]}
    assert_problem(call("GET", "/processes/no_such_process"), 404, "not_found")


def test_start_show_and_history(api: Callable[[str], Call]) -> None:
    call = api("requester")
    started = start(call)
    instance = started.json
    assert started.headers["Location"].endswith(f"/api/v1/instances/{instance['id']}")
    assert started.headers["ETag"] == f'"{instance["id"]}.{instance["lock_version"]}"'
    assert [t["element_id"] for t in instance["open_tasks"]] == ["accept"]
    shown = call("GET", f"/instances/{instance['id']}")
    assert shown.json["status"] == "running" and shown.headers["ETag"] == started.headers["ETag"]
    page = call("GET", f"/instances/{instance['id']}/history", query_string={"page_size": 1})
    assert [e["kind"] for e in page.json] == ["instance_started"]
    assert json.loads(page.headers["X-Pagination"])["total"] >= 2


def test_start_form_errors_are_422_naming_the_field(api: Callable[[str], Call]) -> None:
    response = api("requester")("POST", "/processes/service_desk/instances", json={"data": {"channel": "phone"}})
    body = assert_problem(response, 422, "invalid_input")
    assert "title" in body["field_errors"]
    assert_problem(api("requester")("POST", "/processes/service_desk/instances", json={"nodata": 1}), 422)


def test_malformed_bodies_and_wrong_methods_are_problems_too(api: Callable[[str], Call]) -> None:
    call = api("requester")
    assert_problem(call("POST", "/processes/service_desk/instances", data="{not json",
                        headers={"Content-Type": "application/json"}), 400)
    assert_problem(call("DELETE", "/processes"), 405)
    assert_problem(call("GET", "/no/such/thing"), 404)


def test_auditors_cannot_start(api: Callable[[str], Call]) -> None:
    assert_problem(api("auditor")("POST", "/processes/service_desk/instances", json={"data": REQUEST}), 403)


def test_instances_follow_the_web_rules(api: Callable[[str], Call]) -> None:
    instance_id = start(api("requester")).json["id"]
    assert api("service_desk")("GET", f"/instances/{instance_id}").status_code == 200
    assert api("auditor")("GET", f"/instances/{instance_id}/history").status_code == 200
    assert api("service_manager")("GET", f"/instances/{instance_id}").status_code == 200  # an overseer
    assert_problem(api("requester2")("GET", f"/instances/{instance_id}"), 403)
    assert_problem(api("requester2")("GET", f"/instances/{instance_id}/history"), 403)
    assert_problem(api("engineer")("GET", f"/instances/{instance_id}"), 403)
    assert_problem(api("requester")("GET", "/instances/999999"), 404)


# --- tasks and If-Match -----------------------------------------------------------------------------

def test_claim_needs_if_match_and_refuses_a_stale_one(api: Callable[[str], Call]) -> None:
    instance_id = start(api("requester")).json["id"]
    desk = api("service_desk")
    task = open_task(desk, instance_id, "accept")
    body = assert_problem(desk("POST", f"/tasks/{task['id']}/claim"), 428, "precondition_required")
    assert "If-Match" in body["detail"]
    stale = f'"{instance_id}.{task["instance_version"] - 1}"'
    assert_problem(desk("POST", f"/tasks/{task['id']}/claim", headers={"If-Match": stale}), 412, "version_mismatch")
    other = f'"{instance_id + 1}.{task["instance_version"]}"'
    assert_problem(desk("POST", f"/tasks/{task['id']}/claim", headers={"If-Match": other}), 412)
    tag = task_etag(desk, task["id"])
    claimed = desk("POST", f"/tasks/{task['id']}/claim", headers={"If-Match": tag})
    assert claimed.status_code == 200 and claimed.json["assignee"] == "service_desk"
    assert claimed.headers["ETag"] != tag
    # The old tag is stale now: a second change on its strength is refused, nothing saved.
    assert_problem(desk("POST", f"/tasks/{task['id']}/release", headers={"If-Match": tag}), 412)
    released = desk("POST", f"/tasks/{task['id']}/release", headers={"If-Match": claimed.headers["ETag"]})
    assert released.status_code == 200 and released.json["assignee"] is None
    assert desk("POST", f"/tasks/{task['id']}/claim", headers={"If-Match": "*"}).status_code == 200


def test_a_change_that_slips_in_after_the_check_is_412_and_nothing_is_saved(
        app: Flask, api: Callable[[str], Call], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.desk import case
    from engine.process import runtime
    instance_id = start(api("requester")).json["id"]
    desk = api("service_desk")
    task = open_task(desk, instance_id, "accept")
    claim_task = runtime.claim_task

    def chased_first(session: Any, **kwargs: Any) -> Any:  # the requester chases between check and claim
        case.chase_request(session, instance_id=instance_id, actor=users.actor(session, "requester"))
        return claim_task(session, **kwargs)

    monkeypatch.setattr(runtime, "claim_task", chased_first)
    tag = task_etag(desk, task["id"])
    assert_problem(desk("POST", f"/tasks/{task['id']}/claim", headers={"If-Match": tag}), 412, "version_mismatch")
    monkeypatch.undo()
    assert task_etag(desk, task["id"]) == tag  # neither the chase nor the claim was saved
    assert open_task(desk, instance_id, "accept")["assignee"] is None


def test_a_task_a_colleague_took_is_409_naming_them(app: Flask, api: Callable[[str], Call]) -> None:
    with database(app).transaction() as session:
        users.create_user(session, username="desk2", password="pw-12345678", groups=["service_desk"])
    instance_id = start(api("requester")).json["id"]
    desk, desk2 = api("service_desk"), api("desk2")
    task_id = open_task(desk, instance_id, "accept")["id"]
    assert desk("POST", f"/tasks/{task_id}/claim", headers={"If-Match": task_etag(desk, task_id)}).status_code == 200
    body = assert_problem(desk2("POST", f"/tasks/{task_id}/claim", headers={"If-Match": task_etag(desk2, task_id)}),
                          409, "task_taken")
    assert body["assignee"] == "service_desk"
    done = desk2("POST", f"/tasks/{task_id}/complete", json={"data": {"request_confirmed": True}},
                 headers={"If-Match": task_etag(desk2, task_id)})
    assert_problem(done, 409, "task_taken")


def test_tasks_of_other_groups_are_403_and_unknown_ones_404(api: Callable[[str], Call]) -> None:
    instance_id = start(api("requester")).json["id"]
    task_id = open_task(api("service_desk"), instance_id, "accept")["id"]
    engineer = api("engineer")
    assert_problem(engineer("GET", f"/tasks/{task_id}"), 403)
    assert_problem(engineer("POST", f"/tasks/{task_id}/claim", headers={"If-Match": "*"}), 403)
    assert_problem(api("auditor")("POST", f"/tasks/{task_id}/claim", headers={"If-Match": "*"}), 403)
    assert_problem(engineer("GET", "/tasks/999999"), 404)
    assert_problem(engineer("POST", "/tasks/999999/complete", json={"data": {}}, headers={"If-Match": "*"}), 404)
    assert task_id not in [t["id"] for t in engineer("GET", "/tasks").json]


def test_assign_is_for_managers(app: Flask, api: Callable[[str], Call]) -> None:
    instance_id = start(api("requester")).json["id"]
    desk = api("service_desk")
    accept = open_task(desk, instance_id, "accept")["id"]
    desk("POST", f"/tasks/{accept}/complete", json={"data": {"request_confirmed": True}},
         headers={"If-Match": task_etag(desk, accept)})
    classify = open_task(desk, instance_id, "classify")["id"]
    desk("POST", f"/tasks/{classify}/complete", json={"data": {"category": "fault", "fault_level": "III"}},
         headers={"If-Match": task_etag(desk, classify)})
    with database(app).transaction() as session:  # a manager sees the tasks of the groups they are in
        users.create_user(session, username="lead", password="pw-12345678", groups=["service_manager", "engineer"])
    engineer, manager = api("engineer"), api("lead")
    fix = open_task(engineer, instance_id, "remote_fix")["id"]
    assert_problem(api("service_manager")("POST", f"/tasks/{fix}/assign", json={"assignee": "engineer2"},
                                          headers={"If-Match": "*"}), 403)
    assert_problem(engineer("POST", f"/tasks/{fix}/assign", json={"assignee": "engineer2"},
                            headers={"If-Match": task_etag(engineer, fix)}), 403)
    assert_problem(manager("POST", f"/tasks/{fix}/assign", json={"assignee": "requester"},
                           headers={"If-Match": task_etag(manager, fix)}), 422)  # not an engineer
    assert_problem(manager("POST", f"/tasks/{fix}/assign", json={}, headers={"If-Match": "*"}), 422)
    assigned = manager("POST", f"/tasks/{fix}/assign", json={"assignee": "engineer2"},
                       headers={"If-Match": task_etag(manager, fix)})
    assert assigned.status_code == 200 and assigned.json["assignee"] == "engineer2"


def test_a_request_runs_to_its_end_through_the_api(app: Flask, api: Callable[[str], Call]) -> None:
    requester = api("requester")
    instance_id = start(requester).json["id"]
    steps = [("service_desk", "accept", {"request_confirmed": True}),
             ("service_desk", "classify", {"category": "fault", "fault_level": "III"}),
             ("engineer", "remote_fix", {"resolved": True, "method": "remote", "actions": "重置账号"})]
    for user, element_id, data in steps:
        call = api(user)
        task = open_task(call, instance_id, element_id)
        done = call("POST", f"/tasks/{task['id']}/complete", json={"data": data},
                    headers={"If-Match": task_etag(call, task["id"])})
        assert done.status_code == 200 and done.json["state"] == "completed", done.text
    bad = open_task(requester, instance_id, "satisfaction")
    assert_problem(requester("POST", f"/tasks/{bad['id']}/complete", json={"data": {"score": 9}},
                             headers={"If-Match": task_etag(requester, bad["id"])}), 422)
    from tests.support.flows import allow_closing
    allow_closing(database(app), instance_id)
    satisfaction = open_task(requester, instance_id, "satisfaction")
    done = requester("POST", f"/tasks/{satisfaction['id']}/complete",
                     json={"data": {"score": 5, "remaining_problem": False}},
                     headers={"If-Match": task_etag(requester, satisfaction["id"])})
    assert done.status_code == 200, done.text
    assert requester("GET", f"/instances/{instance_id}").json["status"] == "completed"


def test_task_list_pages(api: Callable[[str], Call]) -> None:
    requester = api("requester")
    for n in range(3):
        start(requester, title=f"HIS #{n}")
    desk = api("service_desk")
    first = desk("GET", "/tasks", query_string={"page_size": 2})
    assert len(first.json) == 2 and json.loads(first.headers["X-Pagination"])["total"] == 3
    second = desk("GET", "/tasks", query_string={"page_size": 2, "page": 2})
    assert len(second.json) == 1 and second.json[0]["id"] not in {t["id"] for t in first.json}
    assert_problem(desk("GET", "/tasks", query_string={"scope": "everything"}), 422)
    assert desk("GET", "/tasks", query_string={"scope": "mine"}).json == []


# --- SLA, knowledge, documents ----------------------------------------------------------------------

def test_sla_reads_follow_the_sla_rule(api: Callable[[str], Call]) -> None:
    policies = api("service_desk")("GET", "/sla/policies")
    assert policies.status_code == 200 and {p["fault_level"] for p in policies.json} == {"I", "II", "III", "IV"}
    assert api("auditor")("GET", "/sla/at-risk").status_code == 200
    assert_problem(api("engineer")("GET", "/sla/policies"), 403)
    assert_problem(api("requester")("GET", "/sla/at-risk"), 403)


def test_knowledge_search(api: Callable[[str], Call]) -> None:
    found = api("engineer")("GET", "/knowledge", query_string={"q": "登录", "page_size": 5})
    assert found.status_code == 200 and found.json["has_more"] is False
    assert_problem(api("engineer")("GET", "/knowledge", query_string={"status": "bogus"}), 422)


def test_openapi_and_swagger_ui_are_served_without_a_cdn(app: Flask) -> None:
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/tasks/{task_id}/complete" in spec["paths"]
    claim = spec["paths"]["/api/v1/tasks/{task_id}/claim"]["post"]
    assert {"401", "403", "404", "409", "412", "428"} <= set(claim["responses"])
    assert "application/problem+json" in json.dumps(spec["components"]["responses"]["PRECONDITION_FAILED"])
    docs = client.get("/api/v1/docs").text
    assert "/api/v1/swagger-ui/swagger-ui-bundle.js" in docs and "//" not in docs.split("swagger-ui-bundle")[0][-40:]
    assert client.get("/api/v1/swagger-ui/swagger-ui-bundle.js").status_code == 200
