"""Alert intake: Alertmanager and Zabbix notices open 服务台/应急 requests (channel 监控告警, level from the
mapping), repeats and resolutions go into the open request's history, retries change nothing, and concurrent
deliveries of one alert open one request (SQLite and PostgreSQL)."""
from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import config
from app import create_app, database
from engine import tokens, users
from engine.desk import tasks
from engine.process import persistence
from engine.store.api_models import AlertRequest
from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.app.test_api import assert_problem, make_token
from tests.support.flows import allow_closing

FIRING = {
    "version": "4", "groupKey": "{}:{alertname=\"HostDown\"}", "truncatedAlerts": 0, "status": "firing",
    "receiver": "opsflow", "groupLabels": {"alertname": "HostDown"}, "commonLabels": {"alertname": "HostDown"},
    "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
    "alerts": [{"status": "firing", "labels": {"alertname": "HostDown", "severity": "warning", "instance": "his-db-01",
                                              "customer": "市医院信息科"},
                "annotations": {"summary": "HIS 数据库主机不可达", "description": "ping 失败 5 分钟"},
                "startsAt": "2026-12-04T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph", "fingerprint": "a1b2c3d4e5f60718"}],
}
ZABBIX = {"event_id": "4711", "status": "PROBLEM", "host": "core-sw-01", "trigger": "交换机端口 Gi0/1 down",
          "trigger_id": "13579", "severity": "High", "message": "接口 Gi0/1 状态 down"}


def resolved(payload: dict[str, Any]) -> dict[str, Any]:
    found = copy.deepcopy(payload)
    found["status"] = found["alerts"][0]["status"] = "resolved"
    found["alerts"][0]["endsAt"] = "2026-12-04T08:20:00Z"
    return found


@pytest.fixture
def intake(app: Flask) -> Callable[..., Any]:
    secret = make_token(app, "service_desk", "alerts")
    client = app.test_client()

    def post(kind: str, payload: dict[str, Any]) -> Any:
        return client.post(f"/api/v1/alerts/{kind}", json=payload, headers={"Authorization": f"Bearer {secret}"})
    return post


def view(app: Flask, instance_id: int) -> dict[str, Any]:
    with database(app).transaction() as session:
        return tasks.instance_view(session, instance_id)


def test_an_alert_opens_one_request_and_a_retry_answers_the_same(app: Flask, intake: Callable[..., Any]) -> None:
    first = intake("alertmanager", FIRING)
    assert first.status_code == 200, first.text
    [result] = first.json["results"]
    assert result["outcome"] == "opened" and result["fingerprint"] == "a1b2c3d4e5f60718"
    again = intake("alertmanager", FIRING)
    assert again.status_code == 200 and again.json == first.json
    instance = view(app, result["request_id"])
    assert instance["process_id"] == "service_desk" and instance["fault_level"] == "III"
    started = instance["history"][0]["payload"]["data"]
    assert started["channel"] == "monitoring" and started["organisation"] == "市医院信息科"
    assert started["system"] == "his-db-01" and "HostDown" in started["title"]
    assert [e["kind"] for e in instance["history"]].count("alert_repeated") == 0
    assert [e["kind"] for e in instance["history"]].count("fault_level_changed") == 1


def test_a_repeat_is_noted_and_a_resolution_recorded_on_the_open_request(app: Flask,
                                                                         intake: Callable[..., Any]) -> None:
    request_id = intake("alertmanager", FIRING).json["results"][0]["request_id"]
    repeat = copy.deepcopy(FIRING)
    repeat["alerts"][0]["annotations"]["description"] = "ping 失败 30 分钟"
    assert intake("alertmanager", repeat).json["results"][0] == {
        "fingerprint": "a1b2c3d4e5f60718", "outcome": "noted", "request_id": request_id}
    done = intake("alertmanager", resolved(FIRING)).json["results"][0]
    assert done == {"fingerprint": "a1b2c3d4e5f60718", "outcome": "resolved", "request_id": request_id}
    instance = view(app, request_id)
    kinds = [e["kind"] for e in instance["history"]]
    assert kinds.count("alert_repeated") == 1 and kinds.count("alert_resolved") == 1
    assert instance["status"] == "running"  # people close requests, not monitoring
    assert intake("alertmanager", resolved(FIRING)).json["results"][0]["outcome"] == "resolved"
    assert [e["kind"] for e in view(app, request_id)["history"]].count("alert_resolved") == 1


def test_after_its_request_ended_the_alert_opens_a_new_one(app: Flask, intake: Callable[..., Any]) -> None:
    request_id = intake("alertmanager", FIRING).json["results"][0]["request_id"]
    with database(app).transaction() as session:
        session.execute(ProcessInstance.__table__.update().where(ProcessInstance.id == request_id)
                        .values(status="completed"))
    refired = copy.deepcopy(FIRING)
    refired["alerts"][0]["startsAt"] = "2026-12-05T08:00:00Z"
    again = intake("alertmanager", refired).json["results"][0]
    assert again["outcome"] == "opened" and again["request_id"] != request_id


def test_a_resolution_without_an_open_request_is_ignored(intake: Callable[..., Any]) -> None:
    assert intake("alertmanager", resolved(FIRING)).json["results"][0] == {
        "fingerprint": "a1b2c3d4e5f60718", "outcome": "ignored", "request_id": None}


def test_levels_come_from_the_mapping_table(app: Flask, intake: Callable[..., Any]) -> None:
    critical = copy.deepcopy(FIRING)
    critical["alerts"][0]["labels"]["severity"] = "critical"
    request_id = intake("alertmanager", critical).json["results"][0]["request_id"]
    assert (view(app, request_id)["process_id"], view(app, request_id)["fault_level"]) == ("emergency", "I")
    zabbix = intake("zabbix", ZABBIX).json["results"][0]
    assert zabbix["outcome"] == "opened" and zabbix["fingerprint"] == "core-sw-01/13579"
    assert view(app, zabbix["request_id"])["fault_level"] == "II"
    recovered = intake("zabbix", {**ZABBIX, "event_id": "4712", "status": "RESOLVED"}).json["results"][0]
    assert recovered == {**zabbix, "outcome": "resolved"}


def test_process_owners_edit_the_mapping(app: Flask, intake: Callable[..., Any]) -> None:
    owner = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(app, 'process_owner')}"}
    listed = owner.get("/api/v1/alert-levels", headers=headers).json
    assert {"source": "alertmanager", "severity": "critical", "process_id": "emergency", "fault_level": "I"}.items() \
        <= next(r for r in listed if r["severity"] == "critical").items()
    changed = owner.put("/api/v1/alert-levels/alertmanager/warning", headers=headers,
                        json={"process_id": "service_desk", "fault_level": "II"})
    assert changed.status_code == 200 and changed.json["updated_by"] == "process_owner"
    assert view(app, intake("alertmanager", FIRING).json["results"][0]["request_id"])["fault_level"] == "II"
    desk = {"Authorization": f"Bearer {make_token(app, 'service_desk')}"}
    assert_problem(owner.put("/api/v1/alert-levels/alertmanager/warning", headers=desk,
                             json={"process_id": "service_desk", "fault_level": "I"}), 403)
    assert_problem(owner.put("/api/v1/alert-levels/nagios/warning", headers=headers,
                             json={"process_id": "service_desk", "fault_level": "I"}), 404)
    assert_problem(owner.put("/api/v1/alert-levels/zabbix/high", headers=headers,
                             json={"process_id": "problem_management", "fault_level": "I"}), 422)


def test_intake_needs_a_token_with_the_alerts_scope(app: Flask) -> None:
    client = app.test_client()
    api_only = {"Authorization": f"Bearer {make_token(app, 'service_desk')}"}
    assert_problem(client.post("/api/v1/alerts/alertmanager", json=FIRING, headers=api_only), 403)
    assert_problem(client.post("/api/v1/alerts/alertmanager", json=FIRING), 401)
    with database(app).transaction() as session:
        engineer = users.actor(session, "engineer")
        with pytest.raises(Exception, match="service desk"):
            tokens.create_token(session, owner=engineer, name="x", scopes=["alerts"], actor=engineer)


def test_malformed_payloads_are_422(app: Flask, intake: Callable[..., Any]) -> None:
    assert_problem(intake("alertmanager", {**FIRING, "version": "3"}), 422)
    assert_problem(intake("alertmanager", {**FIRING, "alerts": []}), 422)
    assert_problem(intake("zabbix", {k: v for k, v in ZABBIX.items() if k != "host"}), 422)


# --- concurrent retries -----------------------------------------------------------------------------

def _deliver_at_once(flask_app: Flask, secret: str, copies: int) -> list[Any]:
    barrier = threading.Barrier(copies)
    answers: list[Any] = [None] * copies

    def deliver(n: int) -> None:
        client = flask_app.test_client()
        barrier.wait()
        response = client.post("/api/v1/alerts/alertmanager", json=FIRING,
                               headers={"Authorization": f"Bearer {secret}"})
        answers[n] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _alert_requests(flask_app: Flask) -> int:
    with database(flask_app).transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AlertRequest)) or 0)


def test_concurrent_deliveries_open_one_request_on_sqlite(app: Flask) -> None:
    answers = _deliver_at_once(app, make_token(app, "service_desk", "alerts"), 6)
    assert {status for status, _ in answers} == {200}
    assert len({body["results"][0]["request_id"] for _, body in answers}) == 1
    assert _alert_requests(app) == 1


def test_concurrent_deliveries_open_one_request_on_postgresql(bundled: Database) -> None:
    if not bundled.url.startswith("postgresql"):
        pytest.skip("the SQLite run is the test above (a file database, writers serialized)")
    flask_app = create_app(type("PgApiConfig", (config.TestConfig,), {"DATABASE_URL": bundled.url}))
    persistence.workflow_cache.clear()
    try:
        answers = _deliver_at_once(flask_app, make_token(flask_app, "service_desk", "alerts"), 6)
        assert {status for status, _ in answers} == {200}, answers
        assert len({body["results"][0]["request_id"] for _, body in answers}) == 1
        assert _alert_requests(flask_app) == 1
        request_id = answers[0][1]["results"][0]["request_id"]
        allow_closing(bundled, request_id)  # the request is a normal one: the desk works it from here
    finally:
        database(flask_app).dispose()
        persistence.workflow_cache.clear()
