"""Auditors' pages: the instance list, one instance's history (events, data changes, SLA outcomes, verdict,
filters), exports, the replay steps, who may look, that nothing can be changed, and that every look is logged."""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app import database
from engine import clock
from engine.store.models import AccessLog, HistoryEvent
from tests.app.conftest import complete, open_task, start_request, visible_text
from tests.app.test_i18n import english_words
from tests.support.flows import allow_closing

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # 09:00 in Asia/Shanghai
READERS = ["auditor", "process_owner", "service_manager", "resident_manager", "project_manager", "general_manager"]
OUTSIDERS = ["requester", "service_desk", "engineer", "vendor", "quality_admin"]


def finished_request(app: Flask, client_for: Callable[[str], FlaskClient], *, late_accept: bool = False) -> int:
    """A service-desk request from raising to the satisfaction call, fixed remotely; with `late_accept`, the
    desk accepts it after its 30-minute response target."""
    requester, desk, engineer = client_for("requester"), client_for("service_desk"), client_for("engineer")
    with clock.frozen(T0) as advance:
        instance_id = start_request(requester)
        advance(dt.timedelta(hours=1) if late_accept else dt.timedelta(minutes=5))
        complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true", "notes": "电话已确认"})
        advance(dt.timedelta(minutes=5))
        complete(desk, open_task(app, instance_id, "classify"),
                 {"category": "fault", "fault_level": "II", "impact": "门诊挂号"})
        advance(dt.timedelta(hours=2))
        complete(engineer, open_task(app, instance_id, "remote_fix"),
                 {"resolved": "true", "method": "remote", "actions": "重置账号"})
        allow_closing(database(app), instance_id)
        advance(dt.timedelta(hours=1))
        complete(requester, open_task(app, instance_id, "satisfaction"),
                 {"score": "5", "remaining_problem": "false", "comment": "很快"})
    return instance_id


def main_of(html: str) -> str:
    """The page's own content (the header's links belong to other areas)."""
    return html[html.index("<main>"):html.index("</main>")]


def event_rows(html: str) -> list[tuple[int, str]]:
    return [(int(m[1]), m[2]) for m in re.finditer(r'<tr class="event[^"]*" data-seq="(\d+)" data-kind="(\w+)">', html)]


def access_log(app: Flask) -> list[tuple[str, str, int | None, dict]]:
    with database(app).transaction() as session:
        return [(r.actor, r.action, r.instance_id, r.detail)
                for r in session.scalars(select(AccessLog).order_by(AccessLog.id))]


def event_count(app: Flask, instance_id: int) -> int:
    with database(app).transaction() as session:
        return len(list(session.scalars(select(HistoryEvent.id).where(HistoryEvent.instance_id == instance_id))))


# --- the history page -----------------------------------------------------------------------------

def test_the_history_shows_every_event_with_labelled_data_changes_sla_and_an_ok_verdict(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    page = client_for("auditor").get(f"/audit/instances/{instance_id}")
    assert page.status_code == 200
    html = main_of(page.text)
    assert english_words(html) == []
    rows = event_rows(html)
    assert [seq for seq, _ in rows] == list(range(1, event_count(app, instance_id) + 1))
    assert [kind for _, kind in rows][:3] == ["instance_started", "task_ready", "task_completed"]
    assert rows[-1][1] == "instance_ended"
    shown = visible_text(html)
    # Kinds by name, actors, times to the second in Asia/Shanghai, task names, data with the form's labels.
    assert "提出请求" in shown and "任务完成" in shown and "网关决策" in shown and "流程结束" in shown
    assert "2026-11-23 09:05:00" in shown and "service_desk" in shown
    assert "受理并记录服务请求" in shown and "需求已确认" in shown and "电话已确认" in shown
    # What each step changed in the instance data, by label and readable value.
    added = r'<li class="diff-added" data-key="fault_level">.*?新增.*?故障级别:\s*<span class="new">II 级</span>'
    assert re.search(added, html, re.S)
    assert "个流程变量有变化" in shown and "sla_level: IV → II" in shown
    # SLA targets: the desk accepted and classified within 30 minutes (both steps carry the response target,
    # issue 11 item 4), the remote fix well within the resolution target; the callback resolves nothing.
    outcomes = [(target, state) for state, target in re.findall(r'<tr data-state="(\w+)" data-target="(\w*)">', html)]
    assert outcomes[:3] == [("respond", "met"), ("respond", "met"), ("resolve", "met")]
    assert "响应时限" in shown and "达标" in shown
    # The verdict: chain and re-execution agree.
    assert 'data-ok="true"' in html and "历史记录校验通过" in shown
    assert f"全部 {len(rows)} 个事件的哈希链完整" in shown
    # Links to the replay and the exports; and not one form that changes anything.
    assert f'href="/audit/instances/{instance_id}/replay"' in html
    assert f'href="/audit/instances/{instance_id}/export.json"' in html and "export.csv" in html
    assert 'method="post"' not in html.lower()


def test_a_missed_target_is_marked_missed(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for, late_accept=True)
    html = main_of(client_for("auditor").get(f"/audit/instances/{instance_id}").text)
    states = {target: state for state, target in re.findall(r'<tr data-state="(\w+)" data-target="(\w*)">', html)}
    assert states["respond"] == "missed" and states["resolve"] == "met"
    assert '<span class="badge sla-missed">未达标</span>' in html


def test_a_remote_fix_answered_not_resolved_does_not_meet_the_resolution_target(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester, desk, engineer = client_for("requester"), client_for("service_desk"), client_for("engineer")
    auditor = client_for("auditor")
    with clock.frozen(T0) as advance:
        instance_id = start_request(requester)
        advance(dt.timedelta(minutes=5))
        complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true"})
        complete(desk, open_task(app, instance_id, "classify"), {"category": "fault", "fault_level": "II"})
        advance(dt.timedelta(hours=2))
        complete(engineer, open_task(app, instance_id, "remote_fix"),
                 {"resolved": "false", "method": "remote", "actions": "远程排查未能定位"})
        html = main_of(auditor.get(f"/audit/instances/{instance_id}").text)
        row = re.search(r'<tr data-state="(\w+)" data-target="resolve">(.*?)</tr>', html, re.S)
        assert row is not None and row[1] == "open"  # not resolved, not yet due (3 days for level II)
        assert "远程解决" in row[2] and '<span class="badge sla-open">尚未完成</span>' in row[2]
        assert html.count('data-target="resolve"') == 1
        advance(dt.timedelta(days=3))  # still unresolved past the due time
        html = main_of(auditor.get(f"/audit/instances/{instance_id}").text)
    row = re.search(r'<tr data-state="(\w+)" data-target="resolve">(.*?)</tr>', html, re.S)
    assert row is not None and row[1] == "missed" and '<span class="badge sla-missed">未达标</span>' in row[2]


def test_events_filter_by_kind_and_actor(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    auditor = client_for("auditor")
    completed = event_rows(auditor.get(f"/audit/instances/{instance_id}?kind=task_completed").text)
    assert [kind for _, kind in completed] == ["task_completed"] * 4
    by_engineer = auditor.get(f"/audit/instances/{instance_id}?actor=engineer").text
    assert event_rows(by_engineer) and all(
        'translate="no">engineer<' in row for row in re.findall(r'<tr class="event.*?</tr>', by_engineer, re.S))
    both = event_rows(auditor.get(f"/audit/instances/{instance_id}?kind=task_completed&actor=engineer").text)
    assert len(both) == 1
    page = auditor.get(f"/audit/instances/{instance_id}?kind=task_completed&actor=nobody").text
    assert event_rows(page) == [] and "没有符合筛选条件的事件。" in page
    assert 'option value="task_completed" selected' in auditor.get(
        f"/audit/instances/{instance_id}?kind=task_completed&actor=").text
    assert auditor.get(f"/audit/instances/{instance_id}?kind=rm_rf").status_code == 422


def test_a_tampered_event_shows_the_first_divergence(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    other = finished_request(app, client_for)
    with database(app).transaction() as session:
        payload = session.scalar(select(HistoryEvent.payload).where(HistoryEvent.instance_id == instance_id,
                                                                    HistoryEvent.seq == 5))
        payload["data"]["fault_level"] = "IV"
        session.execute(text("UPDATE history_event SET payload = :payload WHERE instance_id = :id AND seq = 5"),
                        {"payload": json.dumps(payload, ensure_ascii=False), "id": instance_id})
    auditor = client_for("auditor")
    html = main_of(auditor.get(f"/audit/instances/{instance_id}").text)
    assert english_words(html) == []
    shown = visible_text(html)
    assert 'data-ok="false"' in html and "历史记录校验未通过" in shown
    assert "最早的不一致出现在第 5 个事件" in shown and "由哈希链校验发现" in shown
    assert '<dl class="data divergence" data-seq="5">' in html
    expected, found = re.findall(r'<code translate="no">(.*?)</code>', html)
    assert expected.startswith("{&#34;hash&#34;: &#34;") and found.startswith("{&#34;hash&#34;: &#34;")
    assert expected != found
    assert '<tr class="event kind-task_completed diverges" data-seq="5"' in html
    # The honest instance still verifies; the summary names the tampered one.
    assert 'data-ok="true"' in auditor.get(f"/audit/instances/{other}").text
    summary = auditor.get("/audit/verify").text
    # Four instances: each level II fault resolved started its fault report (故障技术报告, issue 11 item 4).
    assert "4 个实例中 3 个校验通过" in visible_text(summary)
    assert f'data-instance="{instance_id}"' in summary and f'data-instance="{other}"' not in summary
    assert english_words(main_of(summary)) == []


# --- exports --------------------------------------------------------------------------------------

def test_exports_download_the_history_as_json_and_csv(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    auditor = client_for("auditor")
    events = event_count(app, instance_id)
    as_json = auditor.get(f"/audit/instances/{instance_id}/export.json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert as_json.headers["Content-Disposition"] == (
        f'attachment; filename="opsflow-instance-{instance_id}-history.json"')
    document = json.loads(as_json.text)
    assert document["instance"]["id"] == instance_id and len(document["events"]) == events
    assert [e["seq"] for e in document["events"]] == list(range(1, events + 1))
    assert as_json.headers["Content-Type"] == "application/json; charset=utf-8"  # the charset once
    as_csv = auditor.get(f"/audit/instances/{instance_id}/export.csv")
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["Content-Disposition"].startswith("attachment;")
    # a UTF-8 byte-order mark first, or Excel on Chinese Windows garbles the Chinese
    assert as_csv.data.startswith(codecs.BOM_UTF8) and not as_csv.data.startswith(codecs.BOM_UTF8 * 2)
    table = list(csv.reader(io.StringIO(as_csv.data.decode("utf-8-sig"))))
    assert table[0][:3] == ["instance_id", "seq", "kind"] and table[0][-1] == "hash"
    assert len(table) == events + 1 and [int(row[1]) for row in table[1:]] == list(range(1, events + 1))
    assert auditor.get(f"/audit/instances/{instance_id}/export.xml").status_code == 404


# --- replay ---------------------------------------------------------------------------------------

def test_the_replay_page_and_its_steps(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    auditor = client_for("auditor")
    page = auditor.get(f"/audit/instances/{instance_id}/replay")
    assert page.status_code == 200
    html = main_of(page.text)
    assert english_words(html) == []
    assert f'data-src="/audit/instances/{instance_id}/steps.json"' in html
    assert '<input type="range" id="replay-slider"' in html
    assert "bpmn-navigated-viewer.production.min.js" in page.text and "replay.js" in page.text
    found = auditor.get(f"/audit/instances/{instance_id}/steps.json", headers={"Accept": "application/json"})
    assert found.status_code == 200
    steps = found.json["steps"]
    assert found.json["xml"].lstrip().startswith("<?xml") and 'id="remote_fix"' in found.json["xml"]
    assert [s["seq"] for s in steps] == list(range(1, event_count(app, instance_id) + 1))
    first, last = steps[0], steps[-1]
    assert first["event"]["kind"] == "instance_started" and first["event"]["kind_name"] == "提出请求"
    assert first["ready"] == ["accept"] and first["status"] == "running"
    assert ["紧急程度", "高"] in first["data"]  # data with the form's labels and readable values
    assert first["waiting_timers"][0]["element_id"] == "accept_sla_warn"
    assert first["at_text"] == "2026-11-23 09:00:00"
    assert last["status"] == "completed" and last["ready"] == [] and last["event"]["kind"] == "instance_ended"
    assert {"accept", "classify", "remote_fix", "satisfaction", "gw_remote_resolved"} <= set(last["completed"])
    assert last["visits"]["accept"] == 1 and last["visits"]["gw_remote_resolved"] == 1
    triage, gateway, *_ = (s for s in steps if s["event"]["kind"] == "gateway_taken")
    assert triage["event"]["taken"] == ["remote_fix"]  # 事件分类 sent it to the engineers (issue 11)
    assert gateway["event"]["taken"] == ["satisfaction"]
    assert all(s["divergence"] is None for s in steps)


# --- the list -------------------------------------------------------------------------------------

def test_the_list_pages_through_every_instance_newest_first(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    done = finished_request(app, client_for)
    running = [start_request(requester) for _ in range(2)]
    auditor = client_for("auditor")
    page = auditor.get("/audit/?limit=2")
    assert page.status_code == 200 and english_words(main_of(page.text)) == []
    listed = [int(n) for n in re.findall(r'<tr data-instance="(\d+)">', page.text)]
    # The level II fault resolved in `done` started its fault report (故障技术报告) right after it.
    report = done + 1
    assert listed == [running[1], running[0]] and "共 4 个流程实例" in page.text
    following = re.search(r'href="(/audit/\?before=\d+&amp;limit=2)"', page.text)
    assert following, "a link to the next page"
    rest = auditor.get(following[1].replace("&amp;", "&")).text
    assert [int(n) for n in re.findall(r'<tr data-instance="(\d+)">', rest)] == [report, done]
    closed = auditor.get("/audit/?status=completed").text
    assert [int(n) for n in re.findall(r'<tr data-instance="(\d+)">', closed)] == [done]
    assert 'href="/audit/verify"' in page.text
    assert auditor.get("/audit/?status=bogus").status_code == 422


def test_request_and_task_pages_link_readers_to_the_history(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    accept = open_task(app, instance_id, "accept")
    link = f'href="/audit/instances/{instance_id}"'
    auditor = client_for("auditor")
    assert link in auditor.get(f"/portal/requests/{instance_id}").text
    assert link in auditor.get(f"/tasks/{accept}").text
    assert 'href="/audit/"' in auditor.get("/inbox").text  # the nav link
    assert link not in requester.get(f"/portal/requests/{instance_id}").text
    desk = client_for("service_desk")
    assert link not in desk.get(f"/tasks/{accept}").text and 'href="/audit/"' not in desk.get("/inbox").text


# --- who may look, and that looking changes nothing ----------------------------------------------

def _pages(instance_id: int) -> list[str]:
    base = f"/audit/instances/{instance_id}"
    return ["/audit/", "/audit/verify", base, f"{base}/replay", f"{base}/steps.json", f"{base}/export.json",
            f"{base}/export.csv"]


@pytest.mark.parametrize("username", READERS)
def test_auditors_process_owners_and_managers_may_read(
        app: Flask, client_for: Callable[[str], FlaskClient], username: str) -> None:
    instance_id = start_request(client_for("requester"))
    client = client_for(username)
    for path in _pages(instance_id):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("username", OUTSIDERS)
def test_everyone_else_is_refused(app: Flask, client_for: Callable[[str], FlaskClient], username: str) -> None:
    instance_id = start_request(client_for("requester"))
    client = client_for(username)
    for path in _pages(instance_id):
        refused = client.get(path)
        assert refused.status_code == 403, path
    assert client.get(_pages(instance_id)[4], headers={"Accept": "application/json"}).json["code"] == "forbidden"
    assert access_log(app) == []


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/audit/")
    assert response.status_code == 302 and "/login" in response.location


def test_writes_are_refused_with_403(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    before = event_count(app, instance_id)
    auditor, owner = client_for("auditor"), client_for("process_owner")
    for path in _pages(instance_id):
        for method in ("post", "put", "delete"):
            assert getattr(auditor, method)(path, data={"x": "1"}).status_code == 403, (method, path)
        assert owner.post(path, data={"x": "1"}).status_code == 403, path
    assert event_count(app, instance_id) == before


def test_a_missing_instance_is_404(client_for: Callable[[str], FlaskClient]) -> None:
    auditor = client_for("auditor")
    for path in _pages(9999)[2:]:
        assert auditor.get(path).status_code == 404, path


def test_every_look_is_written_to_the_access_log(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    auditor = client_for("auditor")
    base = f"/audit/instances/{instance_id}"
    for path in (f"{base}?kind=task_completed", f"{base}/replay", f"{base}/steps.json", f"{base}/export.json",
                 f"{base}/export.csv"):
        assert auditor.get(path).status_code == 200
    logged = access_log(app)
    assert [(who, action, target) for who, action, target, _ in logged] == [
        ("auditor", "view", instance_id), ("auditor", "replay", instance_id), ("auditor", "replay", instance_id),
        ("auditor", "export_json", instance_id), ("auditor", "export_csv", instance_id)]
    assert logged[0][3]["kind"] == "task_completed" and logged[0][3]["ok"] is True
    assert [detail["part"] for _, action, _, detail in logged if action == "replay"] == ["page", "steps"]
    client_for("process_owner").get("/audit/verify")
    # The request and the fault report its level II fault started (故障技术报告, issue 11 item 4).
    assert [entry[:3] for entry in access_log(app)[-2:]] == [("process_owner", "verify", instance_id),
                                                             ("process_owner", "verify", instance_id + 1)]


def test_the_pages_in_english(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = finished_request(app, client_for)
    auditor = client_for("auditor")
    auditor.post("/locale", data={"locale": "en"})
    history = visible_text(auditor.get(f"/audit/instances/{instance_id}").text)
    assert "The history verifies" in history and "Task completed" in history and "Response target" in history
    assert "Export JSON" in history and "target met" in history and "历史记录" not in history
    replay = visible_text(auditor.get(f"/audit/instances/{instance_id}/replay").text)
    assert "Replay of no." in replay and "Next step" in replay
    steps = auditor.get(f"/audit/instances/{instance_id}/steps.json").json["steps"]
    assert steps[0]["event"]["kind_name"] == "Request raised" and ["Urgency", "High"] in steps[0]["data"]
