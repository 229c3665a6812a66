"""The process owners' modeler: every page and post, who may do what, CSRF, validation problems by element,
deploy as N+1, drafts, versions with diff and rollback, and migration of running requests."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import database
from engine.store.models import ProcessDefinition, ProcessInstance
from tests.app.conftest import open_task, start_request
from tests.app.test_i18n import english_words
from tests.conftest import BPMN_DIR

SERVICE_DESK = (BPMN_DIR / "service_desk.bpmn").read_text(encoding="utf-8")
DEFAULT_FLOW = ('<bpmn:sequenceFlow id="flow_gw_remote_resolved_dispatch_onsite" name="未解决" '
                'sourceRef="gw_remote_resolved" targetRef="dispatch_onsite"/>')
DISPATCH_IN = ("<bpmn:incoming>flow_gw_remote_resolved_dispatch_onsite</bpmn:incoming>\n"
               "      <bpmn:outgoing>flow_dispatch_onsite_onsite_fix</bpmn:outgoing>")


def with_approval(xml: str = SERVICE_DESK) -> str:
    """service_desk with 主管审批 between an unresolved remote fix and 派发现场服务单."""
    assert DEFAULT_FLOW in xml and DISPATCH_IN in xml
    return xml.replace(DEFAULT_FLOW, DEFAULT_FLOW.replace('targetRef="dispatch_onsite"', 'targetRef="approve"')
                       + '<bpmn:userTask id="approve" name="主管审批" camunda:formKey="adjustment_approval" '
                         'camunda:candidateGroups="service_manager">'
                         '<bpmn:incoming>flow_gw_remote_resolved_dispatch_onsite</bpmn:incoming>'
                         '<bpmn:outgoing>flow_approve_dispatch_onsite</bpmn:outgoing></bpmn:userTask>'
                         '<bpmn:sequenceFlow id="flow_approve_dispatch_onsite" sourceRef="approve" '
                         'targetRef="dispatch_onsite"/>').replace(
        DISPATCH_IN, DISPATCH_IN.replace("flow_gw_remote_resolved_dispatch_onsite", "flow_approve_dispatch_onsite"))


BROKEN = SERVICE_DESK.replace('camunda:formKey="dispatch_onsite" camunda:candidateGroups="service_desk"',
                              'camunda:formKey="no_such_form"')


@pytest.fixture
def owner(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_for("process_owner")


def editor_config(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="modeler-config">(.*?)</script>', page, re.S)
    assert found, "no modeler config on the page"
    return json.loads(found[1])


def deploy(client: FlaskClient, xml: str, comment: str = "主管审批", process: str = "service_desk") -> object:
    return client.post(f"/modeler/{process}/deploy", json={"xml": xml, "comment": comment})


# --- pages and access ------------------------------------------------------------------------------

PAGES = ["/modeler/", "/modeler/service_desk", "/modeler/service_desk?version=1", "/modeler/service_desk/versions",
         "/modeler/service_desk/xml?version=1", "/modeler/camunda-moddle.json", "/modeler/service_desk/migrate",
         "/modeler/service_desk/versions/1/rollback"]


def test_every_page_opens_for_a_process_owner(owner: FlaskClient) -> None:
    for path in [*PAGES, "/modeler/new"]:
        response = owner.get(path)
        assert response.status_code == 200, path
    page = owner.get("/modeler/service_desk").text
    assert "bpmn-modeler.production.min.js" in page and 'name="csrf-token"' in page and 'id="properties"' in page
    config = editor_config(page)
    assert config["process_id"] == "service_desk" and config["version"] == 1 and config["editable"] is True
    assert 'id="dispatch_onsite"' in config["xml"]
    assert "dispatch_onsite" in owner.get("/modeler/service_desk/xml").get_json()["xml"]
    descriptor = owner.get("/modeler/camunda-moddle.json").get_json()
    assert descriptor["prefix"] == "camunda" and descriptor["uri"] == "http://camunda.org/schema/1.0/bpmn"
    assert "流程建模" in owner.get("/portal/").text  # the nav link


@pytest.mark.parametrize("username", ["engineer", "service_desk", "requester", "service_manager"])
def test_everyone_but_owners_and_auditors_gets_a_403(client_for: Callable[[str], FlaskClient], username: str) -> None:
    client = client_for(username)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/modeler/service_desk/validate", json={"xml": SERVICE_DESK}).status_code == 403
    assert "流程建模" not in client.get("/portal/").text


def test_auditors_read_but_change_nothing(client_for: Callable[[str], FlaskClient]) -> None:
    auditor = client_for("auditor")
    for path in PAGES:
        assert auditor.get(path).status_code == 200, path
    page = auditor.get("/modeler/service_desk").text
    assert "bpmn-navigated-viewer" in page and 'id="deploy"' not in page and 'id="properties"' not in page
    assert auditor.get("/modeler/new").status_code == 403
    assert "Yes, deploy" not in auditor.get("/modeler/service_desk/versions/1/rollback").text
    for path, body in [("validate", {"xml": SERVICE_DESK}), ("deploy", {"xml": SERVICE_DESK, "comment": "x"}),
                       ("draft", {"xml": SERVICE_DESK})]:
        assert auditor.post(f"/modeler/service_desk/{path}", json=body).status_code == 403, path
    assert auditor.post("/modeler/service_desk/versions/1/rollback").status_code == 403
    assert auditor.post("/modeler/service_desk/migrate", data={"to_version": "1"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/modeler/service_desk")
    assert response.status_code == 302 and "/login" in response.location


def test_unknown_processes_and_versions_are_404(owner: FlaskClient) -> None:
    assert owner.get("/modeler/nothing_here").status_code == 404
    assert owner.get("/modeler/service_desk?version=99").status_code == 404
    assert owner.get("/modeler/service_desk/versions/99/rollback").status_code == 404
    assert owner.get("/modeler/bad*id").status_code == 422


def test_modeler_pages_in_zh_cn_have_no_untranslated_english(owner: FlaskClient) -> None:
    deploy(owner, with_approval())
    pages = {path: owner.get(path) for path in [*PAGES, "/modeler/new", "/modeler/service_desk/diff?from=1&to=2"]
             if not path.endswith((".json", "xml?version=1"))}
    assert {path: english_words(r.text) for path, r in pages.items() if english_words(r.text)} == {}


def test_modeler_pages_in_english(owner: FlaskClient) -> None:
    owner.post("/locale", data={"locale": "en"})
    page = owner.get("/modeler/service_desk").text
    assert 'lang="en"' in page and "Process modeler" in page and "Deploy" in page and "流程建模" not in page
    assert editor_config(page)["text"]["valid"].startswith("No problems found")
    assert "Service desk and on-site service" in owner.get("/modeler/").text


# --- CSRF -------------------------------------------------------------------------------------------

def test_posts_need_the_csrf_token_from_the_page(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    login = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert login
    client.post("/login", data={"username": "process_owner", "password": "opsflow-demo", "csrf_token": login[1]})
    refused = client.post("/modeler/service_desk/validate", json={"xml": SERVICE_DESK})
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf"
    assert client.post("/modeler/service_desk/deploy", json={"xml": with_approval(), "comment": "x"}).status_code == 400
    assert client.post("/modeler/service_desk/versions/1/rollback").status_code == 400
    assert client.post("/modeler/service_desk/migrate", data={"to_version": "1"}).status_code == 400
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/modeler/service_desk").text)
    assert meta
    accepted = client.post("/modeler/service_desk/validate", json={"xml": SERVICE_DESK},
                           headers={"X-CSRFToken": meta[1]})
    assert accepted.status_code == 200 and accepted.get_json() == {"valid": True, "problems": []}


# --- validate and deploy ----------------------------------------------------------------------------

def test_validate_names_the_elements_at_fault(owner: FlaskClient) -> None:
    found = owner.post("/modeler/service_desk/validate", json={"xml": BROKEN}).get_json()
    assert found["valid"] is False
    assert [(p["element_id"], p["code"], p["message"]) for p in found["problems"]] == [
        ("dispatch_onsite", "no_candidate_group",
         "此用户任务既没有处理组（camunda:candidateGroups），也没有指派人"),
        ("dispatch_onsite", "unknown_form_key", "表单“no_such_form”未在 forms/ 中定义")]
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + SERVICE_DESK.split("?>", 1)[1]
    refused = owner.post("/modeler/service_desk/validate", json={"xml": doctype}).get_json()
    assert refused["problems"][0]["element_id"] is None and "DOCTYPE" in refused["problems"][0]["message"]
    other = owner.post("/modeler/emergency/validate", json={"xml": SERVICE_DESK}).get_json()
    assert other["problems"][0]["element_id"] == "emergency"  # the diagram holds another process


def test_deploy_creates_version_n_plus_1_and_refusals_name_the_elements(owner: FlaskClient) -> None:
    refused = deploy(owner, BROKEN)
    assert refused.status_code == 422
    assert {p["element_id"] for p in refused.get_json()["problems"]} == {"dispatch_onsite"}
    assert deploy(owner, with_approval(), comment="  ").status_code == 422  # a comment is required
    deployed = deploy(owner, with_approval(), comment="加主管审批")
    assert deployed.status_code == 200, deployed.text
    body = deployed.get_json()
    assert body["version"] == 2 and body["versions_url"] == "/modeler/service_desk/versions"
    page = owner.get("/modeler/service_desk/versions").text
    assert "加主管审批" in page and 'data-version="2"' in page and "process_owner" in page
    assert "approve" in owner.get("/modeler/service_desk/xml").get_json()["xml"]
    assert 'id="approve"' not in owner.get("/modeler/service_desk/xml?version=1").get_json()["xml"]


def test_a_new_process_is_deployed_as_version_1(owner: FlaskClient) -> None:
    xml = SERVICE_DESK.replace('id="service_desk"', 'id="service_desk_copy"').replace(
        'processRef="service_desk"', 'processRef="service_desk_copy"')
    assert deploy(owner, xml, process="service_desk_copy").get_json()["version"] == 1
    assert 'data-process="service_desk_copy"' in owner.get("/modeler/").text


def test_uploads_over_the_limits_are_refused(owner: FlaskClient, app: Flask) -> None:
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert owner.post("/modeler/service_desk/validate", json={"xml": huge}).status_code == 413
    big = "<x/>" + " " * (2 * 1024 * 1024)
    response = owner.post("/modeler/service_desk/validate", json={"xml": big})
    assert response.status_code == 422 and "xml" in response.get_json()["field_errors"]


# --- drafts -----------------------------------------------------------------------------------------

def test_a_draft_is_kept_per_user_until_discarded_or_deployed(owner: FlaskClient,
                                                             client_for: Callable[[str], FlaskClient]) -> None:
    draft = with_approval().replace("主管审批", "主管审批（草稿）")
    saved = owner.post("/modeler/service_desk/draft", json={"xml": draft, "base_version": 1})
    assert saved.status_code == 200 and saved.get_json()["base_version"] == 1
    assert 'data-draft="service_desk"' in owner.get("/modeler/").text
    assert "/modeler/service_desk?draft=1" in owner.get("/modeler/service_desk").text.replace("&amp;", "&")
    opened = editor_config(owner.get("/modeler/service_desk?draft=1").text)
    assert "主管审批（草稿）" in opened["xml"] and opened["version"] == 1
    assert "主管审批（草稿）" not in editor_config(owner.get("/modeler/service_desk").text)["xml"]
    assert "data-draft=" not in client_for("auditor").get("/modeler/").text  # drafts are their owner's
    unsafe = owner.post("/modeler/service_desk/draft", json={"xml": "<!DOCTYPE x><x/>"})
    assert unsafe.status_code == 422 and unsafe.get_json()["problems"]
    assert owner.post("/modeler/service_desk/draft/discard").status_code == 302
    assert 'data-draft="service_desk"' not in owner.get("/modeler/").text
    owner.post("/modeler/service_desk/draft", json={"xml": draft})
    deploy(owner, draft)
    assert 'data-draft="service_desk"' not in owner.get("/modeler/").text  # deploying drops the draft


def test_a_draft_of_a_process_never_deployed_opens_in_the_modeler(owner: FlaskClient) -> None:
    xml = SERVICE_DESK.replace('id="service_desk"', 'id="brand_new"').replace(
        'processRef="service_desk"', 'processRef="brand_new"')
    assert owner.post("/modeler/brand_new/draft", json={"xml": xml}).status_code == 200
    page = owner.get("/modeler/brand_new")
    assert page.status_code == 200
    opened = editor_config(page.text)
    assert opened["is_new"] is True and opened["process_id"] == "brand_new" and 'id="brand_new"' in opened["xml"]


# --- versions, diff, rollback -----------------------------------------------------------------------

def test_the_diff_marks_added_and_changed_elements_of_the_newer_version(owner: FlaskClient) -> None:
    deploy(owner, with_approval())
    for query in ("from=1&to=2", "from=2&to=1"):  # either order: compared older to newer
        page = owner.get(f"/modeler/service_desk/diff?{query}")
        assert page.status_code == 200
        ids = re.search(r'<script type="application/json" id="diff-data">(.*?)</script>', page.text, re.S)
        assert ids and '"approve"' in ids[1] and '"flow_approve_dispatch_onsite"' in ids[1]
        assert '"dispatch_onsite"' in ids[1]  # its incoming flow changed
        assert "/modeler/service_desk/xml?version=2" in page.text
    assert owner.get("/modeler/service_desk/diff?from=1&to=1").status_code == 422
    assert owner.get("/modeler/service_desk/diff?from=1&to=9").status_code == 404


def test_the_diff_names_element_kinds_and_compared_fields_in_the_users_language(owner: FlaskClient) -> None:
    deploy(owner, with_approval())
    page = owner.get("/modeler/service_desk/diff?from=1&to=2").text
    added = re.search(r'<ul class="added">(.*?)</ul>', page, re.S)
    assert added and "(用户任务)" in added[1] and "(流程线)" in added[1] and "userTask" not in added[1]
    changes = re.search(r'<table class="list changes">(.*?)</table>', page, re.S)
    assert changes, "no table of changes"
    rows = re.findall(r'<tr data-element="dispatch_onsite">(.*?)</tr>', changes[1], re.S)
    assert any("<td>流入连线</td>" in row for row in rows), rows
    assert "<td>属性 <code translate=\"no\">targetRef</code></td>" in changes[1]
    assert "<code>incoming</code>" not in changes[1]
    owner.post("/locale", data={"locale": "en"})
    page = owner.get("/modeler/service_desk/diff?from=1&to=2").text
    assert "(User task)" in page and "<td>Incoming flows</td>" in page


def test_rollback_deploys_an_old_version_again_after_confirmation(owner: FlaskClient) -> None:
    deploy(owner, with_approval())
    confirm = owner.get("/modeler/service_desk/versions/1/rollback").text
    assert 'action="/modeler/service_desk/versions/1/rollback"' in confirm and "/diff?from=1&amp;to=2" in confirm
    done = owner.post("/modeler/service_desk/versions/1/rollback", data={"comment": "审批改为线下"})
    assert done.status_code == 302 and done.location == "/modeler/service_desk/versions"
    page = owner.get(done.location).text
    assert 'data-version="3"' in page and "rollback to version 1: 审批改为线下" in page
    assert 'id="approve"' not in owner.get("/modeler/service_desk/xml").get_json()["xml"]


# --- migration --------------------------------------------------------------------------------------

def test_preview_then_migrate_each_chosen_request_in_its_own_transaction(
        app: Flask, owner: FlaskClient, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    old, other = start_request(requester), start_request(requester, "emergency")
    assert deploy(owner, with_approval()).status_code == 200
    listing = owner.get("/modeler/service_desk/migrate").text
    assert f'data-instance="{old}"' in listing and f'data-instance="{other}"' not in listing
    preview = owner.get(f"/modeler/service_desk/migrate?to_version=2&instance={old}&instance={other}").text
    row = re.search(rf'<tr data-instance="{old}" class="can">(.*?)</tr>', preview, re.S)
    assert row and "accept" in row[1]
    assert re.search(rf'<tr data-instance="{other}" class="cannot">', preview)  # another process's request
    moved = owner.post("/modeler/service_desk/migrate", data={"to_version": "2", "instance": [str(old), str(other)]})
    assert moved.status_code == 200
    assert re.search(rf'<li data-instance="{old}" class="outcome-ok">', moved.text)
    assert re.search(rf'<li data-instance="{other}" class="outcome-failed">', moved.text)
    with database(app).transaction() as session:
        version = session.scalar(select(ProcessDefinition.version).join(
            ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id).where(ProcessInstance.id == old))
    assert version == 2
    assert f'data-instance="{old}"' not in owner.get("/modeler/service_desk/migrate").text.split("candidates")[-1]
    # the migrated request follows the new diagram: an unresolved remote fix goes to 主管审批
    desk, engineer = client_for("service_desk"), client_for("engineer")
    desk.post(f"/tasks/{open_task(app, old, 'accept')}", data={"request_confirmed": "true", "notes": "已受理"})
    desk.post(f"/tasks/{open_task(app, old, 'classify')}", data={"category": "fault", "fault_level": "II",
                                                                 "impact": "门诊"})
    engineer.post(f"/tasks/{open_task(app, old, 'remote_fix')}",
                  data={"resolved": "false", "method": "remote", "actions": "远程排查未果"})
    assert open_task(app, old, "approve")


def test_migration_refusals_are_shown_per_request(app: Flask, owner: FlaskClient,
                                                  client_for: Callable[[str], FlaskClient]) -> None:
    old = start_request(client_for("requester"))
    renamed = with_approval().replace("accept", "intake").replace('formKey="intake"', 'formKey="accept"')
    assert deploy(owner, renamed).status_code == 200  # v2 lacks the step the request waits in
    preview = owner.get(f"/modeler/service_desk/migrate?instance={old}").text
    assert re.search(rf'<tr data-instance="{old}" class="cannot">', preview)
    moved = owner.post("/modeler/service_desk/migrate", data={"to_version": "2", "instance": str(old)})
    assert re.search(rf'<li data-instance="{old}" class="outcome-failed">', moved.text) and "accept" in moved.text
