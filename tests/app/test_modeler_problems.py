"""The modeler shows diagram problems in the user's language: the engine gives each problem a stable code
and parameters, app/modeler/problems.py words them; English pages and codes it does not know show the
engine's English."""
from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.modeler.problems import TEXTS, problem_text
from engine.errors import Problem
from tests.engine.test_validation import MINI, ORPHAN, document, process, straight

CJK = re.compile(r"[\u4e00-\u9fff]")
MINI_TEXT = MINI.decode("utf-8")


@pytest.fixture
def owner(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_for("process_owner")


def problems_of(client: FlaskClient, xml: str, process_id: str = "mini") -> list[tuple[str | None, str, str]]:
    found = client.post(f"/modeler/{process_id}/validate", json={"xml": xml}).get_json()
    return [(p["element_id"], p["code"], p["message"]) for p in found["problems"]]


def mini(old: str | bytes, new: str | bytes) -> str:
    old, new = (x.decode("utf-8") if isinstance(x, bytes) else x for x in (old, new))
    assert old in MINI_TEXT
    return MINI_TEXT.replace(old, new, 1)


@pytest.mark.parametrize(("xml", "expected"), [
    (mini('camunda:candidateGroups="engineer"', 'camunda:candidateGroups="engineer,nobody"'),
     ("remote_fix", "unknown_group", "处理组“nobody”不是 opsflow 的组（可用的组：auditor、company_lead、")),
    (mini('camunda:candidateGroups="engineer"', 'camunda:candidateGroups="${group}"'),
     ("remote_fix", "group_is_expression",
      "处理组“${group}”是 opsflow 无法解析的表达式；请填写 opsflow 的组标识")),
    (mini('camunda:assignee="${initiator}"', 'camunda:assignee="${boss}"'),
     ("satisfaction", "assignee_is_expression",
      "指派人“${boss}”是 opsflow 无法解析的表达式；请填写 ${initiator} 或用户名")),
    (mini('default="flow_retry"', 'default="flow_done"'),
     ("gw_resolved", "default_not_leaving", "默认流程线“flow_done”并不从此网关流出")),
    (mini('default="flow_done"', 'default="flow_again"'),
     ("flow_again", "default_with_condition", "网关的默认流程线不能带条件")),
    (mini('<bpmn:exclusiveGateway id="gw_resolved" name="解决?" default="flow_retry"/>',
          '<bpmn:inclusiveGateway id="gw_resolved" name="x"/>'),
     ("gw_resolved", "unconditioned_flows", "这些流出的流程线既没有条件，也不是默认流程线：flow_retry")),
    (mini('<bpmn:sequenceFlow id="flow_callback" sourceRef="satisfaction" targetRef="gw_remaining"/>', ""),
     ("satisfaction", "dead_end", "死路：此用户任务没有流出的流程线（只有结束事件可以结束一条路径）")),
    (mini(*ORPHAN), ("orphan", "unreachable", "无法到达：没有从开始事件通向此用户任务的路径")),
    (mini("resolved == True", "${resolved}"),
     ("flow_ok", "foreign_expression", "条件“${resolved}”看起来是 JUEL/FEEL 表达式；opsflow 的表达式是基于表单字段的 "
                                      "Python 表达式（例如 resolved == True）")),
    (mini("resolved == True", "open('/etc/passwd')"),
     ("flow_ok", "expression_refused", "条件：“open('/etc/passwd')”中不允许调用函数 open（允许的函数：abs、all、")),
    (mini("resolved == True", "ticket.resolved"),
     ("flow_ok", "expression_refused", "条件：表达式中不允许使用 Attribute：“ticket.resolved”")),
    (mini('<bpmn:userTask id="remote_fix" name="远程解决" camunda:formKey="resolution" '
          'camunda:candidateGroups="engineer"/>',
          '<bpmn:serviceTask id="remote_fix" name="x" camunda:class="com.example.Fix"/>'),
     ("remote_fix", "unsupported_element", "不支持服务任务：服务任务会调用外部系统，而 opsflow 不运行外部代码")),
    (mini('camunda:formKey="resolution" camunda:candidateGroups="engineer"',
          'xmlns:flowable="http://flowable.org/bpmn" flowable:candidateGroups="management"'),
     ("remote_fix", "no_candidate_group", "此用户任务既没有处理组（camunda:candidateGroups），也没有指派人"
                                          "（发现 flowable:candidateGroups='management'；opsflow 读取的是 "
                                          "camunda:candidateGroups）")),
    (mini('camunda:formKey="resolution"', 'camunda:formKey="nope"'),
     ("remote_fix", "unknown_form_key", "表单“nope”未在 forms/ 中定义")),
    (mini('isExecutable="true"', 'isExecutable="false"'),
     ("mini", "no_such_process", "图中没有以此为标识的可执行流程")),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + MINI_TEXT.split("?>", 1)[1],
     (None, "doctype", "BPMN 文件中不允许出现 DOCTYPE 或 ENTITY 声明")),
    (MINI_TEXT.replace("</bpmn:process>", ""), (None, "not_xml", "XML 格式不正确：")),
], ids=lambda value: value[1] if isinstance(value, tuple) else None)
def test_problems_are_worded_in_chinese(owner: FlaskClient, xml: str, expected: tuple[str, str, str]) -> None:
    found = problems_of(owner, xml)
    element_id, code, start = expected
    assert any(e == element_id and c == code and m.startswith(start) for e, c, m in found), found
    for _element, problem_code, message in found:
        assert problem_code in TEXTS and CJK.search(message), message


def test_unsupported_elements_events_timers_and_scripts_in_chinese(owner: FlaskClient) -> None:
    body = straight("""
    <bpmn:businessRuleTask id="decide" name="决策" camunda:decisionRef="invoice-classification"/>
    <bpmn:intermediateCatchEvent id="wait_mail" name="等邮件"><bpmn:messageEventDefinition/>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="js" name="脚本" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="imports" name="导入"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>
    <bpmn:boundaryEvent id="late" name="超时" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"30M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:callActivity id="call" name="调用" calledElement="ghost"/>""", flows="""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="wait_mail"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait_mail" targetRef="js"/>
    <bpmn:sequenceFlow id="f4" sourceRef="js" targetRef="imports"/>
    <bpmn:sequenceFlow id="f5" sourceRef="imports" targetRef="call"/>
    <bpmn:sequenceFlow id="f6" sourceRef="call" targetRef="end"/>
    <bpmn:sequenceFlow id="f7" sourceRef="late" targetRef="end"/>""")
    found = {(e, c): m for e, c, m in problems_of(owner, document(process(body)).decode("utf-8"), "p")}
    assert found == {
        ("decide", "unsupported_element"): "不支持业务规则任务：它调用 DMN 决策“invoice-classification”（camunda:"
                                           "decisionRef）；opsflow 不运行 DMN 决策表；请改用网关条件或脚本任务",
        ("wait_mail", "unsupported_event"): "不支持中间事件上的消息事件：opsflow 没有消息机制，消息无从发送或接收",
        ("js", "script_format"): "不支持脚本格式“javascript”；脚本是由 opsflow 受限求值器运行的 Python 语句",
        ("imports", "expression_refused"): "脚本：脚本中不允许使用 Import：“import os”",
        ("late", "timer_not_iso"): "定时器（时长）“30M”不是有效的 ISO 8601 格式（例如 PT30M, P1DT2H）",
        ("call", "called_process_missing"): "找不到被调用的流程“ghost”：它既不在本图中，也未部署",
    }


def test_deploy_and_draft_refusals_are_worded_in_chinese_too(owner: FlaskClient) -> None:
    xml = mini('camunda:formKey="resolution"', 'camunda:formKey="nope"')
    refused = owner.post("/modeler/mini/deploy", json={"xml": xml, "comment": "试试"})
    assert refused.status_code == 422 and refused.get_json()["code"] == "invalid_diagram"
    assert [(p["element_id"], p["message"]) for p in refused.get_json()["problems"]] == [
        ("remote_fix", "表单“nope”未在 forms/ 中定义")]
    unsafe = owner.post("/modeler/mini/draft", json={"xml": "<!DOCTYPE x><x/>"})
    assert unsafe.status_code == 422
    assert unsafe.get_json()["problems"][0]["message"] == "BPMN 文件中不允许出现 DOCTYPE 或 ENTITY 声明"


def test_english_pages_show_the_engines_words(owner: FlaskClient) -> None:
    owner.post("/locale", data={"locale": "en"})
    xml = mini('camunda:candidateGroups="engineer"', 'camunda:candidateGroups="engineer,nobody"')
    [(element_id, code, message)] = problems_of(owner, xml)
    assert (element_id, code) == ("remote_fix", "unknown_group")
    assert message.startswith("candidate group 'nobody' is not an opsflow group (groups: auditor, company_lead")


def test_a_code_without_wording_and_a_problem_without_code_show_the_english_message(app: Flask) -> None:
    """Checks added to the engine later show up (in English) before anyone translates them."""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert problem_text(Problem("loop", "loop without a wait state", code="some_new_check")) == \
            "loop without a wait state"
        assert problem_text(Problem("t", "cycle R/PT0S never fires")) == "cycle R/PT0S never fires"
        # a known code with parameters its wording does not expect keeps the engine's words too
        assert problem_text(Problem("x", "dead end", code="dead_end", params={})) == "dead end"
        assert problem_text(Problem("x", "dead end", code="dead_end", params={"kind": "userTask"})) == \
            "死路：此用户任务没有流出的流程线（只有结束事件可以结束一条路径）"
