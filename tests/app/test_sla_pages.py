"""SLA pages: the at-risk report, the policy table (read, edit, refuse), re-grading a request, and how
SLA reminders and escalations read in the inbox."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import clock, users
from engine.desk import sla, tasks
from engine.errors import InvalidInput
from engine.process import runtime, timers
from tests.app.conftest import complete, csrf_token_on, open_task, start_request, visible_text
from tests.app.test_i18n import english_words

OWNER = users.Actor("process_owner", frozenset({"process_owner"}))

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 in Asia/Shanghai
HOUR = dt.timedelta(hours=1)
READERS = ["service_manager", "resident_manager", "project_manager", "general_manager", "service_desk",
           "process_owner", "auditor"]
OUTSIDERS = ["engineer", "requester", "vendor"]
LEVEL_II = {"respond_minutes": "30", "plan_minutes": "1440", "resolve_minutes": "4320", "warn_ratio": "0.8",
            "fault_report_minutes": "1440"}


def rows(html: str) -> list[tuple[str, str, str]]:
    """(css class, state, visible text) of each report row, top to bottom."""
    return [(m[1], m[2], visible_text(m[3])) for m in
            re.finditer(r'<tr class="([^"]*)" data-task="\d+" data-state="(\w+)">(.*?)</tr>', html, re.S)]


def classified(app: Flask, requester: FlaskClient, desk: FlaskClient, level: str) -> int:
    """A service-desk request accepted and classified: its remote fix is due at the level's resolve target."""
    instance_id = start_request(requester)
    complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true"})
    # Classified level I, a fault goes on as an emergency (issue 11): re-graded to I, it stays at the remote fix,
    # with the same deadlines (they run from when the request was raised).
    complete(desk, open_task(app, instance_id, "classify"),
             {"category": "fault", "fault_level": "II" if level == "I" else level})
    if level == "I":
        with database(app).transaction() as session:
            sla.change_fault_level(session, instance_id=instance_id, level="I",
                                   actor=users.actor(session, "service_desk"))
    return instance_id


def policies(app: Flask) -> dict[str, dict]:
    with database(app).transaction() as session:
        return {p["fault_level"]: p for p in sla.list_policies(session)}


def fire_due(app: Flask) -> None:
    """What the scheduler does at `clock.now()`: fire every pending timer that is due."""
    with database(app).transaction() as session:
        due = timers.due_soon(session, clock.now())
    for timer_id, _ in due:
        with database(app).transaction() as session:
            runtime.fire_timer(session, timer_id=timer_id, fired_by="test")


# --- the at-risk report ---------------------------------------------------------------------------

def test_at_risk_lists_missed_and_nearly_missed_targets_most_urgent_first(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester, desk = client_for("requester"), client_for("service_desk")
    manager = client_for("service_manager")
    with clock.frozen(T0) as advance:
        level_i = classified(app, requester, desk, "I")  # remote fix due T0 + 24 h, warned from T0 + 19.2 h
        assert "目前没有即将超时或已超时的 SLA 目标。" in manager.get("/sla/at-risk").text
        advance(HOUR)
        unanswered = start_request(requester)  # accept due in 30 min (respond target)
        advance(19 * HOUR)
        page = manager.get("/sla/at-risk")
        assert page.status_code == 200 and "已超时 1 个，即将超时 1 个" in page.text
        assert english_words(page.text) == []
        (late_class, late_state, late), (risk_class, risk_state, risk) = rows(page.text)
        assert (late_class, late_state) == ("task sla-late", "missed")
        assert "已超时" in late and f"{unanswered} 号" in late and "受理并记录服务请求" in late
        assert (risk_class, risk_state) == ("task sla-warn", "at_risk")
        assert f"{level_i} 号" in risk and "远程解决" in risk and "技术支持" in risk and "I 级 · 紧急" in risk
        assert "服务台及现场服务" in risk and "HIS 无法登录" in risk
        assert "2026-11-24 09:00" in risk and "剩余 4 小时" in risk  # due in local time, time left
        advance(4 * HOUR + dt.timedelta(minutes=30))
        page = manager.get("/sla/at-risk").text
        assert [state for _c, state, _t in rows(page)] == ["missed", "missed"]
        assert "已超时 30 分钟" in rows(page)[1][2]
        as_json = manager.get("/sla/at-risk", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and as_json.is_json
    found = as_json.json["rows"]
    assert [(r["instance_id"], r["element_id"], r["state"]) for r in found] == [
        (unanswered, "accept", "missed"), (level_i, "remote_fix", "missed")]
    assert found[1]["late_minutes"] == 30 and found[1]["due_at"].startswith("2026-11-24T01:00")


@pytest.mark.parametrize("username", READERS)
def test_the_report_and_the_policy_are_open_to_managers_desk_owners_and_auditors(
        client_for: Callable[[str], FlaskClient], username: str) -> None:
    client = client_for(username)
    assert client.get("/sla/at-risk").status_code == 200
    assert client.get("/sla/policy").status_code == 200
    assert 'href="/sla/at-risk"' in client.get("/inbox").text  # the nav link


@pytest.mark.parametrize("username", OUTSIDERS)
def test_everyone_else_gets_a_403_page(client_for: Callable[[str], FlaskClient], username: str) -> None:
    client = client_for(username)
    for path in ("/sla/at-risk", "/sla/policy"):
        refused = client.get(path)
        assert refused.status_code == 403 and "您没有权限执行此操作" in refused.text
    assert client.get("/sla/at-risk", headers={"Accept": "application/json"}).json["code"] == "forbidden"
    assert 'href="/sla/at-risk"' not in client.get("/portal/").text


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/sla/at-risk")
    assert response.status_code == 302 and response.location.startswith("/login")


# --- the policy table -----------------------------------------------------------------------------

def test_process_owners_edit_the_policy_and_others_only_read_it(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    page = owner.get("/sla/policy").text
    assert page.count('<form method="post" id="policy-') == 4
    assert 'name="emergency_plan_after_minutes" id="f-I-emergency_plan_after_minutes"' in page
    assert 'id="f-II-emergency_plan_after_minutes"' not in page  # level I only
    assert 'form="policy-II" name="resolve_minutes"' in page and 'value="4320"' in page
    for reader in ("auditor", "service_manager", "service_desk"):
        client = client_for(reader)
        page = client.get("/sla/policy").text
        assert "<input form=" not in page and "只有流程负责人可以修改" in page
        assert english_words(page) == []
        assert "4320" in page and "3 天" in page and "0.8" in page and "80 %" in page
        refused = client.post("/sla/policy/II", data=LEVEL_II)
        assert refused.status_code == 403
    assert policies(app)["II"]["updated_by"] is None


def test_a_policy_change_is_saved_and_used_by_new_requests(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    changed = {**LEVEL_II, "resolve_minutes": "2880", "warn_ratio": "0.75"}
    response = owner.post("/sla/policy/II", data=changed)
    assert response.status_code == 302 and response.location == "/sla/policy"
    saved = policies(app)["II"]
    assert (saved["resolve_minutes"], saved["warn_ratio"], saved["updated_by"]) == (2880, 0.75, "process_owner")
    assert policies(app)["I"]["updated_by"] is None  # one level per form
    page = owner.get("/sla/policy").text
    assert "II 级故障的 SLA 目标已保存" in page and 'value="2880"' in page
    as_json = owner.get("/sla/policy", headers={"Accept": "application/json"}).json["policies"]
    assert [p["fault_level"] for p in as_json] == ["I", "II", "III", "IV"] and as_json[1]["resolve_minutes"] == 2880
    # level I may drop its emergency-plan rule: both boxes blank
    owner.post("/sla/policy/I", data={"respond_minutes": "30", "plan_minutes": "120", "resolve_minutes": "1440",
                                      "warn_ratio": "0.8", "fault_report_minutes": "1440",
                                      "emergency_plan_after_minutes": "", "emergency_plan_due_minutes": ""})
    assert policies(app)["I"]["emergency_plan_after_minutes"] is None
    with clock.frozen(T0):
        instance_id = classified(app, client_for("requester"), client_for("service_desk"), "II")
        with database(app).transaction() as session:
            [work] = tasks.instance_view(session, instance_id)["open_tasks"]
    assert work["due_at"] == (T0 + 48 * HOUR).isoformat()


def test_invalid_values_come_back_with_messages_beside_the_fields_and_what_was_typed(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    typed = {**LEVEL_II, "respond_minutes": "abc", "plan_minutes": "", "resolve_minutes": "-5", "warn_ratio": "1.5"}
    response = owner.post("/sla/policy/II", data=typed)
    assert response.status_code == 422
    page = response.text
    assert "尚未保存：请修改下面标出的字段。" in page
    for field, message in [("respond_minutes", "必须是整数分钟。"), ("plan_minutes", "请填写此项。"),
                           ("resolve_minutes", "必须在 1 到 527040 分钟之间。"),
                           ("warn_ratio", "必须是 0 到 1 之间的数，例如 0.8。")]:
        assert f'<p class="field-error" id="e-II-{field}">{message}</p>' in page
    assert 'value="abc"' in page and 'value="-5"' in page and 'value="1.5"' in page
    assert english_words(page) == []
    assert policies(app)["II"]["updated_by"] is None
    emergency = {**LEVEL_II, "plan_minutes": "120", "resolve_minutes": "1440",
                 "emergency_plan_after_minutes": "960", "emergency_plan_due_minutes": "720"}
    page = owner.post("/sla/policy/I", data=emergency).text
    assert 'id="e-I-emergency_plan_due_minutes">应急方案的截止时间必须晚于启动时间。' in page
    half = {**emergency, "emergency_plan_due_minutes": ""}
    assert "应急方案的两个时间要么都填，要么都不填。" in owner.post("/sla/policy/I", data=half).text
    assert owner.post("/sla/policy/V", data=LEVEL_II).status_code == 404
    as_json = owner.post("/sla/policy/II", json={**LEVEL_II, "warn_ratio": 2})
    assert as_json.status_code == 422 and "warn_ratio" in as_json.json["field_errors"]


def test_the_form_takes_seconds_for_drills_as_the_engine_does(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    drill = {**LEVEL_II, "resolve_minutes": "90s", "plan_minutes": "45s"}
    assert owner.post("/sla/policy/II", data=drill).status_code == 302
    saved = policies(app)["II"]
    assert (saved["resolve_seconds"], saved["resolve_minutes"], saved["plan_seconds"]) == (90, 1.5, 45)
    page = owner.get("/sla/policy").text
    assert 'form="policy-II" name="resolve_minutes"' in page and 'value="90s"' in page
    reader = client_for("service_manager").get("/sla/policy").text
    assert "90s" in reader and "1 分钟 30 秒" in reader and english_words(reader) == []
    # what the form refuses, the engine refuses too (and the other way round)
    for typed in ("90x", "1.5", "0s", "-5"):
        assert owner.post("/sla/policy/II", data={**LEVEL_II, "resolve_minutes": typed}).status_code == 422
        with database(app).transaction() as session, pytest.raises(InvalidInput):
            sla.set_policy(session, "II", actor=OWNER, resolve_minutes=typed)
    with clock.frozen(T0):
        instance_id = classified(app, client_for("requester"), client_for("service_desk"), "II")
        with database(app).transaction() as session:
            [work] = tasks.instance_view(session, instance_id)["open_tasks"]
    assert work["due_at"] == (T0 + dt.timedelta(seconds=90)).isoformat()


def test_the_engines_refusal_shows_beside_its_field(
        app: Flask, client_for: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise InvalidInput("warn_ratio must be between 0 and 1", field_errors={"warn_ratio": ["between 0 and 1"]})

    monkeypatch.setattr(sla, "set_policy", refuse)
    response = client_for("process_owner").post("/sla/policy/III", data=LEVEL_II)
    assert response.status_code == 422
    assert '<p class="field-error" id="e-III-warn_ratio"><span lang="en">between 0 and 1</span></p>' in response.text
    assert 'form="policy-III" name="warn_ratio"' in response.text


def test_the_policy_form_needs_the_csrf_token(csrf_app: Flask) -> None:
    owner = csrf_app.test_client()
    owner.post("/login", data={"username": "process_owner", "password": "opsflow-demo",
                               "csrf_token": csrf_token_on(owner, "/login")})
    page = owner.get("/sla/policy").text
    assert page.count('name="csrf_token"') == page.count('<form method="post"')
    forged = owner.post("/sla/policy/II", data={**LEVEL_II, "resolve_minutes": "60"})
    assert forged.status_code == 400 and "表单已过期或不是从本站提交的" in forged.text
    assert policies(csrf_app)["II"]["resolve_minutes"] == 4320
    sent = owner.post("/sla/policy/II", data={**LEVEL_II, "resolve_minutes": "60",
                                              "csrf_token": csrf_token_on(owner, "/sla/policy")})
    assert sent.status_code == 302 and policies(csrf_app)["II"]["resolve_minutes"] == 60


# --- re-grading -----------------------------------------------------------------------------------

def test_the_service_desk_re_grades_a_request_from_the_task_page(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    with clock.frozen(T0):
        instance_id = classified(app, client_for("requester"), desk, "III")
    back = f"/tasks/{_task(app, instance_id, 'classify')}"  # the desk's own (completed) step
    task_page = desk.get(back)
    form = f'action="/sla/instances/{instance_id}/level"'
    assert form in task_page.text and english_words(task_page.text) == []
    assert form not in client_for("engineer").get(f"/tasks/{open_task(app, instance_id, 'remote_fix')}").text
    assert form not in client_for("auditor").get(f"/tasks/{open_task(app, instance_id, 'remote_fix')}").text

    no_reason = desk.post(f"/sla/instances/{instance_id}/level", data={"level": "I", "next": back})
    assert no_reason.status_code == 302 and no_reason.location == back
    assert "故障级别未调整：请填写原因。" in desk.get(back).text
    assert _level(app, instance_id) == "III"

    done = desk.post(f"/sla/instances/{instance_id}/level",
                     data={"level": "I", "reason": "全院业务中断", "next": back})
    assert done.status_code == 302 and done.location == back
    assert f"服务请求 {instance_id} 号已调整为 I 级故障" in desk.get(back).text
    assert _level(app, instance_id) == "I"
    with database(app).transaction() as session:
        view = tasks.instance_view(session, instance_id)
    assert view["open_tasks"][0]["due_at"] == (T0 + 24 * HOUR).isoformat()  # level I: resolve in 24 h
    changed = [e for e in view["history"] if e["kind"] == "fault_level_changed"]
    assert changed[0]["payload"]["reason"] == "全院业务中断" and changed[0]["actor"] == "service_desk"

    same = desk.post(f"/sla/instances/{instance_id}/level", data={"level": "I", "reason": "再次", "next": back})
    assert same.status_code == 302 and '故障级别未调整：<span lang="en">' in desk.get(back).text
    assert desk.post(f"/sla/instances/{instance_id}/level", data={"level": "V", "reason": "x"}).status_code == 302
    assert _level(app, instance_id) == "I"
    as_json = client_for("service_manager").post(f"/sla/instances/{instance_id}/level",
                                                 json={"level": "II", "reason": "影响范围缩小"})
    assert as_json.status_code == 200 and as_json.json == {"instance_id": instance_id, "fault_level": "II"}
    assert _level(app, instance_id) == "II"


@pytest.mark.parametrize("username", ["engineer", "auditor", "requester"])
def test_others_may_not_re_grade(app: Flask, client_for: Callable[[str], FlaskClient], username: str) -> None:
    instance_id = classified(app, client_for("requester"), client_for("service_desk"), "III")
    refused = client_for(username).post(f"/sla/instances/{instance_id}/level", data={"level": "I", "reason": "x"})
    assert refused.status_code == 403
    assert _level(app, instance_id) == "III"


def _task(app: Flask, instance_id: int, element_id: str) -> int:
    with database(app).transaction() as session:
        return next(e["task_id"] for e in tasks.instance_view(session, instance_id)["history"]
                    if e["kind"] == "task_completed" and e["element_id"] == element_id)


def _level(app: Flask, instance_id: int) -> str | None:
    with database(app).transaction() as session:
        return tasks.instance_view(session, instance_id)["fault_level"]


# --- reminders and escalations in the inbox -------------------------------------------------------

def test_sla_reminders_and_escalations_read_as_late_in_the_inbox(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    with clock.frozen(T0) as advance:
        instance_id = start_request(client_for("requester"))  # nobody accepts it: respond due in 30 min
        advance(dt.timedelta(minutes=25))
        fire_due(app)  # the warning at 80 % of 30 min
        desk = client_for("service_desk")
        warning = open_task(app, instance_id, "accept_sla_warning")
        row = re.search(rf'<tr class="([^"]*)" data-task="{warning}">(.*?)</tr>', desk.get("/inbox").text, re.S)
        assert row is not None and row[1] == "task sla-warn" and "剩余 5 分钟" in visible_text(row[2])
        advance(dt.timedelta(minutes=20))
        fire_due(app)  # past the due time: the first escalation, to the service manager
        escalation = open_task(app, instance_id, "accept_escalation_1")
        manager = client_for("service_manager")
        row = re.search(rf'<tr class="([^"]*)" data-task="{escalation}">(.*?)</tr>', manager.get("/inbox").text, re.S)
        assert row is not None and row[1] == "task sla-late"
        text = visible_text(row[2])
        assert "SLA 升级：受理并记录服务请求" in text and "已超时 15 分钟" in text and "09:30" in text
        report = manager.get("/sla/at-risk").text
        # The report lists the work item the escalation is about, with a link to the manager's escalation.
        accept = open_task(app, instance_id, "accept")
        assert f'data-task="{accept}" data-state="missed"' in report
        assert f'data-task="{escalation}"' not in report
        assert f'href="/tasks/{escalation}">已升级至服务经理</a>' in report
        task_page = manager.get(f"/tasks/{escalation}").text
        assert "已超时 15 分钟" in task_page


def report_counts(page: str) -> tuple[int, int]:
    found = re.search(r"已超时 (\d+) 个，即将超时 (\d+) 个", page)
    assert found, "no counts on the report"
    return int(found[1]), int(found[2])


def test_one_breached_case_counts_once_however_many_reminders_chase_it(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    with clock.frozen(T0) as advance:
        instance_id = start_request(client_for("requester"))  # nobody accepts it: respond due in 30 min
        advance(dt.timedelta(minutes=25))
        fire_due(app)  # the warning, to the service desk
        manager = client_for("service_manager")
        assert report_counts(manager.get("/sla/at-risk").text) == (0, 1)
        advance(dt.timedelta(minutes=6))
        fire_due(app)  # the first escalation, to the service manager
        accept = open_task(app, instance_id, "accept")
        warning = open_task(app, instance_id, "accept_sla_warning")
        escalation = open_task(app, instance_id, "accept_escalation_1")
        page = manager.get("/sla/at-risk").text
        assert report_counts(page) == (1, 0)
        assert [(css, state) for css, state, _text in rows(page)] == [("task sla-late", "missed")]
        assert f'data-task="{accept}"' in page and f'data-task="{warning}"' not in page
        advance(dt.timedelta(minutes=30))
        fire_due(app)  # the second escalation, to the project manager: still one case, one breach
        page = manager.get("/sla/at-risk").text
        assert report_counts(page) == (1, 0) and len(rows(page)) == 1
        assert "已升级至服务经理" in page and "已升级至项目经理" in page
        with database(app).transaction() as session:
            [row] = sla.at_risk(session)
        assert (row["task_id"], row["state"]) == (accept, "missed")
        assert [e["group"] for e in row["escalations"]] == ["service_manager", "project_manager"]
        assert row["escalations"][0]["task_id"] == escalation
        as_json = manager.get("/sla/at-risk", headers={"Accept": "application/json"}).json["rows"]
        assert [r["task_id"] for r in as_json] == [accept]
        # The reminders still wait in their groups' inboxes.
        assert f'data-task="{warning}"' in client_for("service_desk").get("/inbox").text
        assert f'data-task="{escalation}"' in manager.get("/inbox").text


def test_a_missed_target_has_a_red_badge_on_its_red_row(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    with clock.frozen(T0) as advance:
        start_request(client_for("requester"))
        advance(dt.timedelta(minutes=40))
        page = client_for("service_manager").get("/sla/at-risk").text
    row = re.search(r'<tr class="task sla-late"[^>]*>(.*?)</tr>', page, re.S)
    assert row is not None and '<span class="badge late">已超时</span>' in row[1]
    assert "badge warn" not in row[1]  # amber on red was the defect
    css = (Path(__file__).resolve().parents[2] / "app" / "static" / "app.css").read_text()
    rule = re.search(r"\.badge\.late \{([^}]*)\}", css)
    assert rule is not None and "background: var(--late)" in rule[1] and "color: #fff" in rule[1]


def test_a_completed_task_shows_whether_it_was_done_in_time_not_time_left(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    with clock.frozen(T0) as advance:
        on_time, late = start_request(client_for("requester")), start_request(client_for("requester"))
        advance(dt.timedelta(minutes=10))
        first = open_task(app, on_time, "accept")
        complete(desk, first, {"request_confirmed": "true"})
        advance(dt.timedelta(minutes=40))
        second = open_task(app, late, "accept")
        complete(desk, second, {"request_confirmed": "true"})
        pages = {task_id: desk.get(f"/tasks/{task_id}").text for task_id in (first, second)}
    for task_id, css, words in ((first, "sla-met", "按时完成"), (second, "sla-late", "超时完成")):
        due = re.search(r"<dt>截止时间</dt><dd class=\"([^\"]*)\">(.*?)</dd>", pages[task_id], re.S)
        assert due is not None, pages[task_id]
        assert due[1] == css and "2026-11-23 09:30" in due[2] and words in due[2]
        assert "剩余" not in due[2] and "已超时" not in due[2]


@pytest.mark.parametrize("typed", [1.5, [1], None])
def test_a_duration_that_is_no_text_or_whole_number_is_refused_not_a_crash(app: Flask, typed: object) -> None:
    with database(app).transaction() as session, pytest.raises(InvalidInput):
        sla.set_policy(session, "II", actor=OWNER, resolve_minutes=typed)


# --- per process, on a calendar (issue 11 items 4 and 7) -----------------------------------------------

def test_each_process_s_policy_is_edited_on_its_own_tab_with_its_calendar(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    page = owner.get("/sla/policy").text
    assert 'href="/sla/policy?process=emergency"' in page and "应急服务" in page
    assert 'name="calendar"' in page and "7×24" in page and "工作日" in page and "2026-12-31" in page
    changed = {**LEVEL_II, "calendar": "workdays", "work_start": "08:30", "work_end": "17:30",
               "process": "third_party"}
    response = owner.post("/sla/policy/II", data=changed)
    assert response.status_code == 302 and response.location == "/sla/policy?process=third_party"
    with database(app).transaction() as session:
        [third] = [p for p in sla.list_policies(session, "third_party") if p["fault_level"] == "II"]
        [desk] = [p for p in sla.list_policies(session) if p["fault_level"] == "II"]
    assert (third["calendar"], third["work_start"], third["work_end"]) == ("workdays", "08:30", "17:30")
    assert (desk["calendar"], desk["updated_by"]) == ("7x24", None)  # the service desk's stays as it was
    tab = owner.get("/sla/policy?process=third_party").text
    assert 'value="08:30"' in tab and '<option value="workdays" selected>' in tab
    assert english_words(client_for("service_manager").get("/sla/policy?process=third_party").text) == []
    wrong = owner.post("/sla/policy/II", data={**changed, "work_start": "8h"})
    assert wrong.status_code == 422 and "请填写时刻" in wrong.text
    as_json = owner.get("/sla/policy?process=third_party", headers={"Accept": "application/json"}).json
    assert {p["process_id"] for p in as_json["policies"]} == {"third_party"}
