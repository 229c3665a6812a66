"""Generates the bundled diagrams bpmn/<process_id>.bpmn from a compact description per process,
laying out lanes, shapes and orthogonal edges (BPMNDI) automatically so they open in bpmn-js.
SLA timers (boundary events) and the branches they open are laid out below the task they sit on.

Usage: python tools/bpmn_build.py [--out DIR] [--overwrite] [process_id ...]
Existing files are left alone unless --overwrite is given. bpmn/ is exactly this tool's output
(tests/tools/test_bpmn_build.py compares them byte for byte): change a bundled diagram here, then
regenerate it with --overwrite, rather than editing the file in a modeler.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from lxml import etree

NSMAP = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
TARGET_NAMESPACE = "urn:opsflow:bpmn"
EXPORTER = "opsflow tools/bpmn_build.py"
EXPORTER_VERSION = "1"
BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


# --------------------------------------------------------------------------------------------
# Description
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lane:
    group: str
    name: str


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: str  # start | end | user | exclusive | inclusive | timer (a non-interrupting boundary timer)
    lane: str  # group id of the lane
    form_key: str | None = None
    initiator: bool = False
    # Rows are relative to the lane's main row (0): -1 sits above it, 1 below.  Only needed where
    # parallel branches would otherwise share a lane and a column.
    row: int = 0
    attached_to: str | None = None  # timer: the task it sits on
    time_date: str | None = None  # timer: expression naming the workflow variable with the due time
    time_duration: str | None = None  # timer: expression naming the variable with how long after the task opened
    interrupting: bool = False  # timer: it ends the task it sits on (otherwise the task stays open)
    properties: tuple[tuple[str, str], ...] = ()  # camunda:properties, read by the engine


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    name: str = ""
    condition: str | None = None
    is_default: bool = False

    @property
    def id(self) -> str:
        return f"flow_{self.source}_{self.target}"


@dataclass(frozen=True)
class Process:
    id: str
    name: str
    lanes: tuple[Lane, ...]
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]


@dataclass(frozen=True)
class Sla:
    """SLA timers on one user task: a warning to its own group, then escalation level by level.

    The engine computes the due times from its SLA policy and stores them in the workflow data as
    sla_<target>_warn, sla_<target>_escalate_<level> (and sla_emergency_plan_at); the timers only
    name those variables, so the policy can change without redeploying the diagrams.
    """

    task: str
    target: str  # respond | plan | resolve | fault_report: the engine's SLA target (sla_target property)
    escalate_to: tuple[str, ...]  # candidate group per escalation level, level 1 first
    emergency_plan: bool = False  # level I still open after 12 h: an emergency plan is due (spec: SLA)


GATEWAYS = ("exclusive", "inclusive")


def start(id_: str, name: str, form_key: str, lane: str, *, row: int = 0) -> Node:
    return Node(id_, name, "start", lane, form_key=form_key, row=row)


def task(id_: str, name: str, group: str, form_key: str, *, initiator: bool = False, row: int = 0) -> Node:
    """A user task; its candidate group is also its lane."""
    return Node(id_, name, "user", group, form_key=form_key, initiator=initiator, row=row)


def xor(id_: str, name: str, lane: str, *, row: int = 0) -> Node:
    return Node(id_, name, "exclusive", lane, row=row)


def inclusive(id_: str, name: str, lane: str, *, row: int = 0) -> Node:
    return Node(id_, name, "inclusive", lane, row=row)


def end(id_: str, name: str, lane: str, *, row: int = 0) -> Node:
    return Node(id_, name, "end", lane, row=row)


def timer(id_: str, name: str, attached_to: str, time_date: str) -> Node:
    """A non-interrupting boundary timer; its lane is set to the task's when the process is built."""
    return Node(id_, name, "timer", "", attached_to=attached_to, time_date=time_date)


def closing_timer(id_: str, name: str, attached_to: str, lane: str, time_duration: str) -> Node:
    """An interrupting boundary timer: the task it sits on ends unanswered `time_duration` after it opened."""
    return Node(id_, name, "timer", lane, attached_to=attached_to, time_duration=time_duration, interrupting=True)


def with_properties(node: Node, **properties: str) -> Node:
    """The node with camunda:properties the engine reads (a group or assignee from a form field, a hand-over)."""
    return replace(node, properties=(*node.properties, *properties.items()))


def chain(*ids: str) -> list[Flow]:
    return [Flow(a, b) for a, b in pairwise(ids)]


def when(source: str, target: str, condition: str, name: str) -> Flow:
    return Flow(source, target, name, condition=condition)


def otherwise(source: str, target: str, name: str) -> Flow:
    return Flow(source, target, name, is_default=True)


def resolved_or(gateway: str, resolved: str, unresolved: str) -> list[Flow]:
    """The answer to 是否解决 (the `resolved` field every resolution form has): 解决 or 未解决."""
    return [when(gateway, resolved, "resolved == True", "解决"), otherwise(gateway, unresolved, "未解决")]


ESCALATION_EVENT_NAMES = ("超时升级", "超时二级升级", "超时三级升级")


def sla_branches(host: Node, sla: Sla) -> tuple[list[Node], list[Flow]]:
    """The timers on `host` and, per timer, the task it opens and that task's end event."""
    x, var = host.id, f"sla_{sla.target}"
    branches = [(timer(f"{x}_sla_warn", "即将超时", x, f"{var}_warn"),
                 task(f"{x}_sla_warning", f"SLA 预警：{host.name}", host.lane, "sla_warning"),
                 end(f"end_{x}_sla_warning", "预警已处理", host.lane))]
    for level, group in enumerate(sla.escalate_to, 1):
        branches.append((timer(f"{x}_sla_escalate_{level}", ESCALATION_EVENT_NAMES[level - 1], x,
                               f"{var}_escalate_{level}"),
                         task(f"{x}_escalation_{level}", f"SLA 升级：{host.name}", group, "sla_escalation"),
                         end(f"end_{x}_escalation_{level}", "升级已处理", group)))
    if sla.emergency_plan:
        branches.append((timer(f"{x}_emergency_plan", "12 小时未解决", x, "sla_emergency_plan_at"),
                         task(f"{x}_emergency_plan_task", "制定应急方案", "project_manager", "emergency_plan"),
                         end(f"end_{x}_emergency_plan", "应急方案已制定", "project_manager")))
    nodes: list[Node] = []
    flows: list[Flow] = []
    for event, branch_task, branch_end in branches:
        nodes += [replace(event, lane=host.lane), branch_task, branch_end]
        flows += chain(event.id, branch_task.id, branch_end.id)
    return nodes, flows


def process(id_: str, name: str, lanes: Sequence[Lane], nodes: Sequence[Node],
            flows: Iterable[Flow | list[Flow]], *, slas: Sequence[Sla] = ()) -> Process:
    flat: list[Flow] = []
    for item in flows:
        flat.extend(item if isinstance(item, list) else [item])
    all_nodes = list(nodes)
    by_id = {n.id: i for i, n in enumerate(all_nodes)}
    for sla in slas:
        host = all_nodes[by_id[sla.task]]
        all_nodes[by_id[sla.task]] = replace(host, properties=(*host.properties, ("sla_target", sla.target)))
        branch_nodes, branch_flows = sla_branches(host, sla)
        all_nodes += branch_nodes
        flat += branch_flows
    return Process(id_, name, tuple(lanes), tuple(all_nodes), tuple(flat))


REQUESTER = Lane("requester", "用户")
SERVICE_DESK = Lane("service_desk", "服务台")
ENGINEER = Lane("engineer", "工程师")
ENGINEER_SUPPORT = Lane("engineer", "技术支持")
SERVICE_MANAGER = Lane("service_manager", "服务经理")
PROJECT_MANAGER = Lane("project_manager", "项目经理")
GENERAL_MANAGER = Lane("general_manager", "总经理")
# Who a missed target goes to, level by level (spec: SLA, 001 §5.1.5 逐级上传到责任人的上级主管).
SERVICE_DESK_CHAIN = ("service_manager", "project_manager", "general_manager")
EMERGENCY_CHAIN = ("resident_manager", "project_manager", "general_manager")

# 事件分类 routes to another flow only for what the service desk's own flow does not do.
IN_SCOPE = "out_of_scope != True"
OUR_OWN = f"needs_third_party != True and {IN_SCOPE}"


def hand_over(id_: str, name: str, process_id: str) -> Node:
    """The end of the service desk's part: the request goes on as a linked request of `process_id`."""
    return with_properties(end(id_, name, "service_desk"), hand_over_to=process_id)


# 满意度回访 nobody answered within the callback period (engine.desk.callback): the case closes by itself.
CALLBACK_UNANSWERED = closing_timer("satisfaction_unanswered", "回访超时", "satisfaction", "service_desk",
                                    "callback_close_after")
AUTO_CLOSED = with_properties(end("end_auto_closed", "无人应答，自动结案", "service_desk"),
                              auto_close="callback_unanswered")

PROCESSES: tuple[Process, ...] = (
    process(
        "service_desk", "服务台及现场服务",
        [REQUESTER, SERVICE_DESK, ENGINEER_SUPPORT, SERVICE_MANAGER, PROJECT_MANAGER, GENERAL_MANAGER],
        [
            start("start", "提出服务需求", "request", "requester"),
            task("accept", "受理并记录服务请求", "service_desk", "accept"),
            task("classify", "事件分类", "service_desk", "classify"),
            xor("gw_triage", "事件去向?", "service_desk"),
            # 咨询 and simple service requests: the service desk answers them itself (first-line resolution).
            task("first_line_answer", "服务台直接解答", "service_desk", "first_line_answer"),
            xor("gw_first_line_resolved", "服务台已解决?", "service_desk"),
            # Routed to another flow: the request goes on there as a linked request (engine.desk.handover).
            hand_over("end_to_emergency", "转应急服务", "emergency"),
            hand_over("end_to_third_party", "转第三方服务", "third_party"),
            hand_over("end_to_other_service", "转其他服务", "other_service"),
            task("remote_fix", "远程解决", "engineer", "resolution"),
            xor("gw_remote_resolved", "远程解决?", "engineer"),
            task("dispatch_onsite", "派发现场服务单", "service_desk", "dispatch_onsite"),
            # Assigned to the engineer 派发 names (a member of the engineer group, checked when it is named).
            with_properties(task("onsite_fix", "现场服务", "engineer", "onsite_resolution"),
                            assignee_field="engineer"),
            xor("gw_onsite_resolved", "现场解决?", "engineer"),
            task("escalate", "服务升级", "service_manager", "escalate"),
            # Offered to the group 服务升级 chose; the engineers' lane is where it is drawn.
            with_properties(task("expert_support", "服务支持", "engineer", "resolution"),
                            candidate_group_field="escalated_to_group"),
            xor("gw_expert_resolved", "服务支持解决?", "engineer"),
            # The service desk calls the requester back; the requester may answer it in the portal instead.
            task("satisfaction", "满意度回访", "service_desk", "satisfaction"),
            CALLBACK_UNANSWERED,
            AUTO_CLOSED,
            xor("gw_remaining_problem", "遗留问题?", "service_desk"),
            task("root_cause", "原因调查及诊断", "service_manager", "root_cause"),
            task("expert_support_followup", "服务支持", "engineer", "resolution"),
            xor("gw_followup_resolved", "遗留问题解决?", "engineer"),
            end("end_done", "服务结束", "service_desk"),
        ],
        [
            chain("start", "accept", "classify", "gw_triage"),
            # Disjoint answers, so their order never matters: scope first (permission before any work),
            # then the vendor, then a level I fault, then what the desk answers itself.
            when("gw_triage", "end_to_other_service", "out_of_scope == True", "超出服务范围"),
            when("gw_triage", "end_to_third_party", f"needs_third_party == True and {IN_SCOPE}", "需第三方"),
            when("gw_triage", "end_to_emergency", f'category == "fault" and fault_level == "I" and {OUR_OWN}',
                 "I 级故障"),
            when("gw_triage", "first_line_answer",
                 f'(category == "consultation" or (category == "service_request" and simple_request == True)) '
                 f"and {OUR_OWN}", "咨询/简单服务请求"),
            otherwise("gw_triage", "remote_fix", "技术支持处理"),
            chain("first_line_answer", "gw_first_line_resolved"),
            resolved_or("gw_first_line_resolved", "satisfaction", "remote_fix"),
            chain("remote_fix", "gw_remote_resolved"),
            resolved_or("gw_remote_resolved", "satisfaction", "dispatch_onsite"),
            chain("dispatch_onsite", "onsite_fix", "gw_onsite_resolved"),
            resolved_or("gw_onsite_resolved", "satisfaction", "escalate"),
            # Unresolved is never closed as resolved: support that did not solve it goes back up.
            chain("escalate", "expert_support", "gw_expert_resolved"),
            resolved_or("gw_expert_resolved", "satisfaction", "escalate"),
            chain("satisfaction", "gw_remaining_problem"),
            chain(CALLBACK_UNANSWERED.id, AUTO_CLOSED.id),
            when("gw_remaining_problem", "root_cause", "remaining_problem == True", "有"),
            otherwise("gw_remaining_problem", "end_done", "无"),
            chain("root_cause", "expert_support_followup", "gw_followup_resolved"),
            resolved_or("gw_followup_resolved", "satisfaction", "root_cause"),
        ],
        slas=[
            Sla("accept", "respond", SERVICE_DESK_CHAIN),
            # Level I unresolved after 12 h: an emergency plan by 16 h, here as in 应急 (spec: SLA).
            Sla("remote_fix", "resolve", SERVICE_DESK_CHAIN, emergency_plan=True),
            Sla("onsite_fix", "resolve", SERVICE_DESK_CHAIN, emergency_plan=True),
            Sla("dispatch_onsite", "plan", (), emergency_plan=True),
            Sla("escalate", "plan", (), emergency_plan=True),
            Sla("expert_support", "resolve", (), emergency_plan=True),
        ],
    ),
    process(
        "emergency", "应急服务",
        [REQUESTER, SERVICE_DESK, ENGINEER, Lane("resident_manager", "驻厂经理"), PROJECT_MANAGER,
         GENERAL_MANAGER],
        [
            start("start", "提出服务需求", "request", "requester"),
            task("accept", "受理并记录服务需求", "service_desk", "accept"),
            task("analyse_fault", "分析故障", "engineer", "analyse_fault"),
            task("remote_handle", "联系处理结果", "engineer", "resolution"),
            xor("gw_remote_resolved", "远程处理解决?", "engineer"),
            task("onsite_with_parts", "携带配件现场处理", "engineer", "onsite_resolution"),
            xor("gw_onsite_resolved", "现场解决?", "engineer"),
            task("resident_manager_report", "沟通用户负责人，报告故障进度、结果", "resident_manager",
                 "resident_manager_report"),
            xor("gw_resident_manager_resolved", "驻厂经理协调解决?", "resident_manager"),
            task("project_manager_handle", "项目经理处理", "project_manager", "resolution"),
            xor("gw_project_manager_resolved", "项目经理解决?", "project_manager"),
            task("general_manager_report", "报告总经理", "general_manager", "general_manager_report"),
            # The engineers resolve it as the general manager directs; the case is never recorded unresolved.
            task("resolve_as_directed", "按总经理指示解决故障", "engineer", "resolution"),
            xor("gw_directed_resolved", "故障解决?", "engineer"),
            task("record_in_backoffice", "录入后台数据库", "service_desk", "record_in_backoffice"),
            # 技术支持 writes the fault report (seed 001 §4.1); missed, it goes up the chain step by step.
            task("fault_report", "提供故障技术报告", "engineer", "fault_report"),
            end("end_done", "服务结束", "engineer"),
        ],
        [
            chain("start", "accept", "analyse_fault", "remote_handle", "gw_remote_resolved"),
            resolved_or("gw_remote_resolved", "record_in_backoffice", "onsite_with_parts"),
            chain("onsite_with_parts", "gw_onsite_resolved"),
            resolved_or("gw_onsite_resolved", "record_in_backoffice", "resident_manager_report"),
            chain("resident_manager_report", "gw_resident_manager_resolved"),
            resolved_or("gw_resident_manager_resolved", "record_in_backoffice", "project_manager_handle"),
            chain("project_manager_handle", "gw_project_manager_resolved"),
            resolved_or("gw_project_manager_resolved", "record_in_backoffice", "general_manager_report"),
            chain("general_manager_report", "resolve_as_directed", "gw_directed_resolved"),
            resolved_or("gw_directed_resolved", "record_in_backoffice", "general_manager_report"),
            chain("record_in_backoffice", "fault_report", "end_done"),
        ],
        # Every other step shows its due time from engine.desk.sla.TASK_TARGETS (no timers of its own).
        slas=[
            # 分析故障 ends in the handling plan (处理方案: 2 h / 24 h / 48 h / 5 d by level).
            Sla("analyse_fault", "plan", EMERGENCY_CHAIN),
            # Level I unresolved after 12 h: an emergency plan by 16 h, on whichever rung the case stands.
            Sla("remote_handle", "resolve", EMERGENCY_CHAIN, emergency_plan=True),
            Sla("onsite_with_parts", "resolve", EMERGENCY_CHAIN, emergency_plan=True),
            Sla("resident_manager_report", "resolve", (), emergency_plan=True),
            Sla("project_manager_handle", "resolve", (), emergency_plan=True),
            Sla("resolve_as_directed", "resolve", (), emergency_plan=True),
            Sla("fault_report", "fault_report", EMERGENCY_CHAIN),
        ],
    ),
    process(
        "health_check", "健康检查",
        [ENGINEER, SERVICE_DESK],
        [
            # Manual start only; the periodic timer start is added with the SLA/timer work.
            start("start", "发起健康检查", "health_check_start", "engineer"),
            task("prepare", "预备阶段", "engineer", "hc_prepare"),
            task("collect", "现场交流与采集阶段", "engineer", "hc_collect"),
            inclusive("gw_issues_split", "巡检发现问题?", "engineer"),
            task("handle_hardware", "硬件处理流程", "engineer", "resolution", row=-1),
            task("handle_software", "软件处理流程", "engineer", "resolution", row=1),
            inclusive("gw_issues_join", "问题处理完毕", "engineer"),
            task("training", "技术交流与培训阶段", "engineer", "hc_training"),
            task("summary_report", "数据分析处理与报告生成阶段", "engineer", "hc_summary"),
            task("record_in_backoffice", "存入公司后台数据库", "service_desk", "record_in_backoffice"),
            end("end_done", "结束", "service_desk"),
        ],
        [
            chain("start", "prepare", "collect", "gw_issues_split"),
            when("gw_issues_split", "handle_hardware", "hardware_issues == True", "硬件问题"),
            when("gw_issues_split", "handle_software", "software_issues == True", "软件问题"),
            otherwise("gw_issues_split", "gw_issues_join", "无问题"),
            chain("handle_hardware", "gw_issues_join"),
            chain("handle_software", "gw_issues_join"),
            chain("gw_issues_join", "training", "summary_report", "record_in_backoffice", "end_done"),
        ],
    ),
    process(
        "third_party", "第三方服务",
        [REQUESTER, SERVICE_DESK, ENGINEER, Lane("vendor", "第三方")],
        [
            start("start", "提出服务需求", "request", "requester"),
            # A request the service desk already accepted and classified (转第三方服务) goes straight to the vendor.
            xor("gw_handed_over", "服务台转来?", "requester"),
            task("accept", "受理并记录服务需求", "service_desk", "accept"),
            task("classify", "事件分类", "service_desk", "classify"),
            xor("gw_needs_third_party", "是否需第三方服务?", "service_desk"),
            task("contact_vendor", "联系第三方供应商", "service_desk", "contact_vendor"),
            task("vendor_onsite", "第三方工程师现场处理", "vendor", "resolution"),
            xor("gw_vendor_resolved", "第三方解决?", "vendor"),
            task("vendor_support", "厂商技术支持提供解决方案", "vendor", "vendor_support"),
            task("verify_vendor_solution", "实施并验证厂商方案", "engineer", "verify_vendor_solution"),
            xor("gw_vendor_solution_resolved", "厂商方案解决?", "engineer"),
            task("engineer_onsite", "工程师现场修复", "engineer", "onsite_resolution"),
            xor("gw_engineer_resolved", "工程师解决?", "engineer"),
            # The service desk calls the requester back; the requester may answer it in the portal instead.
            task("satisfaction", "满意度回访", "service_desk", "satisfaction"),
            CALLBACK_UNANSWERED,
            AUTO_CLOSED,
            xor("gw_remaining_problem", "遗留问题?", "service_desk"),
            end("end_done", "服务结束", "service_desk"),
        ],
        [
            chain("start", "gw_handed_over"),
            when("gw_handed_over", "contact_vendor", "handed_over_from != None", "已分类"),
            otherwise("gw_handed_over", "accept", "新需求"),
            chain("accept", "classify", "gw_needs_third_party"),
            when("gw_needs_third_party", "contact_vendor", "needs_third_party == True", "是"),
            otherwise("gw_needs_third_party", "engineer_onsite", "否"),
            chain("contact_vendor", "vendor_onsite", "gw_vendor_resolved"),
            resolved_or("gw_vendor_resolved", "satisfaction", "vendor_support"),
            # The vendor's solution counts only once our engineer applied it and saw it work.
            chain("vendor_support", "verify_vendor_solution", "gw_vendor_solution_resolved"),
            resolved_or("gw_vendor_solution_resolved", "satisfaction", "vendor_support"),
            # What our engineer cannot repair goes to the vendor.
            chain("engineer_onsite", "gw_engineer_resolved"),
            resolved_or("gw_engineer_resolved", "satisfaction", "contact_vendor"),
            # A problem left at the callback is handled again, starting with our engineer.
            chain("satisfaction", "gw_remaining_problem"),
            chain(CALLBACK_UNANSWERED.id, AUTO_CLOSED.id),
            when("gw_remaining_problem", "engineer_onsite", "remaining_problem == True", "有"),
            otherwise("gw_remaining_problem", "end_done", "无"),
        ],
    ),
    process(
        "other_service", "其他服务",
        [REQUESTER, SERVICE_DESK, ENGINEER, PROJECT_MANAGER],
        [
            start("start", "提出服务需求", "request", "requester"),
            task("record_analyse", "记录和分析用户需求", "service_desk", "record_analyse"),
            task("onsite_check", "工程师现场检测与处理", "engineer", "onsite_check"),
            task("feasible_plan", "提供可行性方案", "engineer", "feasible_plan"),
            task("ask_permission", "征求用户允许", "project_manager", "ask_permission"),
            task("customer_permission", "用户需求负责人允许?", "requester", "customer_permission",
                 initiator=True),
            xor("gw_permitted", "用户允许?", "requester"),
            task("execute_plan", "执行方案", "engineer", "resolution"),
            xor("gw_executed_resolved", "处理结果?", "engineer"),
            end("end_refused", "用户未允许", "requester"),
            task("record_in_backoffice", "录入公司后台数据库", "service_desk", "record_in_backoffice"),
            end("end_done", "服务结束", "service_desk"),
        ],
        [
            chain("start", "record_analyse", "onsite_check", "feasible_plan", "ask_permission",
                  "customer_permission", "gw_permitted"),
            when("gw_permitted", "execute_plan", "permitted == True", "允许"),
            otherwise("gw_permitted", "end_refused", "不允许"),
            # Not solved by the plan: a revised plan, asked for permission again, never recorded as done.
            chain("execute_plan", "gw_executed_resolved"),
            resolved_or("gw_executed_resolved", "record_in_backoffice", "feasible_plan"),
            chain("record_in_backoffice", "end_done"),
        ],
    ),
    process(
        "problem_management", "问题管理",
        [REQUESTER, SERVICE_DESK, ENGINEER, SERVICE_MANAGER],
        [
            start("start", "问题提交", "problem_submit", "requester"),
            xor("gw_kind", "问题类别?", "requester"),
            task("consultation_record", "咨询记录", "service_desk", "consultation_record"),
            end("end_consultation", "咨询已记录", "service_desk"),
            task("problem_analyse", "问题分析", "engineer", "problem_analyse"),
            xor("gw_problem_type", "问题类型?", "engineer"),
            task("explain_and_convert", "解释并转为咨询记录", "service_desk", "explain_and_convert"),
            end("end_converted", "已转为咨询记录", "service_desk"),
            task("problem_confirm", "问题确认", "service_manager", "problem_confirm"),
            xor("gw_approved", "主管批准?", "service_manager"),
            task("implement", "问题解决", "engineer", "resolution"),
            task("verify", "验证", "service_desk", "verify"),
            xor("gw_verified", "验证通过?", "service_desk"),
            task("problem_report", "问题上报", "service_manager", "problem_report"),
            task("problem_reply", "问题回复", "service_manager", "problem_reply"),
            end("end_done", "问题处理结束", "service_manager"),
        ],
        [
            chain("start", "gw_kind"),
            when("gw_kind", "consultation_record", 'kind == "consultation"', "咨询类"),
            otherwise("gw_kind", "problem_analyse", "系统缺陷类"),
            chain("consultation_record", "end_consultation"),
            chain("problem_analyse", "gw_problem_type"),
            when("gw_problem_type", "explain_and_convert", 'problem_type == "operation"', "操作问题"),
            otherwise("gw_problem_type", "problem_confirm", "技术/业务问题"),
            chain("explain_and_convert", "end_converted"),
            chain("problem_confirm", "gw_approved"),
            when("gw_approved", "implement", "supervisor_approved == True", "批准"),
            otherwise("gw_approved", "problem_analyse", "不批准"),
            chain("implement", "verify", "gw_verified"),
            when("gw_verified", "problem_report", "verified == True", "通过"),
            otherwise("gw_verified", "implement", "未通过"),
            chain("problem_report", "problem_reply", "end_done"),
        ],
    ),
    process(
        "software_adjustment", "软件调整",
        [REQUESTER, ENGINEER, Lane("dept_lead", "部门领导"), Lane("company_lead", "公司领导")],
        [
            start("start", "软件调整申请", "adjustment_request", "requester"),
            xor("gw_adjustment_kind", "调整类型?", "requester"),
            task("dept_lead_approval", "部门领导审批", "dept_lead", "adjustment_approval"),
            xor("gw_dept_lead_approved", "部门领导批准?", "dept_lead"),
            task("company_lead_approval", "公司领导审批", "company_lead", "adjustment_approval"),
            xor("gw_company_lead_approved", "公司领导批准?", "company_lead"),
            task("implement", "实施调整", "engineer", "resolution"),
            end("end_rejected", "未批准", "dept_lead"),
            task("verify", "验证", "requester", "verify", initiator=True),
            xor("gw_verified", "验证通过?", "requester"),
            end("end_done", "调整完成", "requester"),
        ],
        [
            chain("start", "gw_adjustment_kind"),
            # Defects are fixed at once without approval (seed 001 §3.2.1); dept lead is the default
            # so that every kind not named here still gets an approval.
            when("gw_adjustment_kind", "implement", 'kind == "defect"', "缺陷"),
            when("gw_adjustment_kind", "company_lead_approval", 'kind == "new" and estimate_days > 10',
                 "新需求>10天"),
            otherwise("gw_adjustment_kind", "dept_lead_approval", "合同不明确或新需求≤10天"),
            chain("dept_lead_approval", "gw_dept_lead_approved"),
            when("gw_dept_lead_approved", "implement", "approved == True", "批准"),
            otherwise("gw_dept_lead_approved", "end_rejected", "未批准"),
            chain("company_lead_approval", "gw_company_lead_approved"),
            when("gw_company_lead_approved", "implement", "approved == True", "批准"),
            otherwise("gw_company_lead_approved", "end_rejected", "未批准"),
            chain("implement", "verify", "gw_verified"),
            when("gw_verified", "end_done", "verified == True", "通过"),
            otherwise("gw_verified", "implement", "未通过"),
        ],
    ),
    # Seed 003 第2篇: every uploaded solution is reviewed by the 技术负责人 (engine.desk.knowledge).
    process(
        "knowledge_review", "知识库解决方案审核",
        [Lane("engineer", "作者"), Lane("tech_lead", "技术负责人")],
        [
            start("start", "提交解决方案", "solution_submit", "engineer"),
            task("review", "审核解决方案", "tech_lead", "solution_review"),
            xor("gw_decision", "审核结论?", "tech_lead"),
            end("end_approved", "已发布", "tech_lead"),
            end("end_rejected", "已驳回", "tech_lead"),
            task("revise", "修改解决方案", "engineer", "solution_revise", initiator=True),
        ],
        [
            chain("start", "review", "gw_decision"),
            when("gw_decision", "end_approved", "decision == 'approve'", "通过"),
            when("gw_decision", "end_rejected", "decision == 'reject'", "驳回"),
            otherwise("gw_decision", "revise", "退回修改"),
            chain("revise", "review"),
        ],
    ),
    # Seed 000: 服务中心每月统计备件使用与库存情况，形成报告，经理确认后报送公司 (engine.desk.parts starts it monthly).
    process(
        "parts_report", "备件使用与库存月报",
        [SERVICE_MANAGER],
        [
            start("start", "月度统计", "parts_report_start", "service_manager"),
            task("confirm_report", "经理确认月报", "service_manager", "parts_report_confirm"),
            xor("gw_confirmed", "确认?", "service_manager"),
            end("end_confirmed", "月报已确认", "service_manager"),
            end("end_returned", "月报未确认", "service_manager"),
        ],
        [
            chain("start", "confirm_report", "gw_confirmed"),
            when("gw_confirmed", "end_confirmed", "confirmed == True", "确认"),
            otherwise("gw_confirmed", "end_returned", "不确认"),
        ],
    ),

    # Seed 002 服务报告管理程序: generated figures (engine.desk.service_reports), the project manager's
    # commentary, review by 研发中心和工程部 (special cases to its manager), archiving by the 服务台.
    process(
        "service_report", "服务报告",
        [PROJECT_MANAGER, Lane("report_reviewer", "研发中心和工程部"), Lane("report_manager", "研发中心和工程部经理"),
         SERVICE_DESK],
        [
            start("start", "生成服务报告", "report_start", "project_manager"),
            task("commentary", "撰写报告评述", "project_manager", "report_commentary"),
            task("review", "审核服务报告", "report_reviewer", "report_review"),
            xor("gw_review", "审核结论?", "report_reviewer"),
            task("manager_review", "经理审核（特殊情况）", "report_manager", "report_manager_review"),
            xor("gw_manager_review", "经理审核结论?", "report_manager"),
            task("archive", "分类归档", "service_desk", "report_archive"),
            end("end_archived", "已归档", "service_desk"),
        ],
        [
            chain("start", "commentary", "review", "gw_review"),
            when("gw_review", "archive", "decision == 'approve'", "通过"),
            when("gw_review", "manager_review", "decision == 'special'", "特殊情况"),
            otherwise("gw_review", "commentary", "退回修改"),
            chain("manager_review", "gw_manager_review"),
            when("gw_manager_review", "archive", "decision == 'approve'", "通过"),
            otherwise("gw_manager_review", "commentary", "退回修改"),
            chain("archive", "end_archived"),
        ],
    ),
    # Seed 002 7.2.6: each quarter archived reports are drawn at random for a customer callback.
    process(
        "report_callback", "服务报告客户回访",
        [Lane("quality_admin", "质量管理员")],
        [
            start("start", "抽取回访报告", "report_callback_start", "quality_admin"),
            task("callback", "客户回访", "quality_admin", "report_callback"),
            end("end_done", "回访已记录", "quality_admin"),
        ],
        [chain("start", "callback", "end_done")],
    ),

    # Seed 000 第二篇: a request chased three times (or raised as / classified as 投诉) becomes a complaint,
    # started by the engine (engine.desk.complaint); 投诉回访 until the customer is satisfied (建立投诉回访制度).
    process(
        "complaint", "投诉处理",
        [REQUESTER, SERVICE_MANAGER, SERVICE_DESK],
        [
            start("start", "投诉登记", "complaint_start", "requester"),
            task("name_responsible", "确定第一责任人", "service_manager", "complaint_responsible"),
            task("handle", "投诉处理", "service_manager", "complaint_handling"),
            task("callback", "投诉回访", "service_desk", "complaint_callback"),
            xor("gw_satisfied", "客户满意?", "service_desk"),
            end("end_done", "投诉关闭", "service_desk"),
        ],
        [
            chain("start", "name_responsible", "handle", "callback", "gw_satisfied"),
            when("gw_satisfied", "end_done", "satisfied == True", "满意"),
            otherwise("gw_satisfied", "handle", "不满意"),
        ],
    ),
    # Seed 001 §4.1: a fault report within 24 h of resolving every level I/II fault, written by 技术支持.
    # 应急 has its own step; for the other flows the desk starts this one when such a fault is resolved
    # (engine.desk.sla.start_fault_report), linked to the request by source_instance.
    process(
        "fault_report", "故障技术报告",
        [ENGINEER_SUPPORT, SERVICE_MANAGER, PROJECT_MANAGER, GENERAL_MANAGER],
        [
            start("start", "故障已解决", "fault_report_start", "engineer"),
            task("write_report", "提供故障技术报告", "engineer", "fault_report"),
            end("end_done", "报告已提交", "engineer"),
        ],
        [chain("start", "write_report", "end_done")],
        slas=[Sla("write_report", "fault_report", SERVICE_DESK_CHAIN)],
    ),
)


def check_description(proc: Process) -> list[str]:
    """Problems that would make a broken diagram; the engine's own checks come later."""
    problems: list[str] = []
    ids = [n.id for n in proc.nodes]
    nodes = {n.id: n for n in proc.nodes}
    groups = {lane.group for lane in proc.lanes}
    if len(set(ids)) != len(ids):
        problems.append("duplicate node ids")
    flow_ids = [f.id for f in proc.flows]
    if len(set(flow_ids)) != len(flow_ids):
        problems.append("duplicate flow ids")
    for n in proc.nodes:
        if n.lane not in groups:
            problems.append(f"{n.id}: lane {n.lane} not declared")
        if n.kind in ("user", "start") and not n.form_key:
            problems.append(f"{n.id}: no form key")
    for f in proc.flows:
        for end_id in (f.source, f.target):
            if end_id not in nodes:
                problems.append(f"{f.id}: unknown node {end_id}")
    for n in proc.nodes:
        outgoing = [f for f in proc.flows if f.source == n.id]
        incoming = [f for f in proc.flows if f.target == n.id]
        if n.kind != "end" and not outgoing:
            problems.append(f"{n.id}: no outgoing flow")
        if n.kind not in ("start", "timer") and not incoming:
            problems.append(f"{n.id}: no incoming flow")
        if n.kind == "timer":
            host = nodes.get(n.attached_to or "")
            if host is None or host.kind != "user":
                problems.append(f"{n.id}: not attached to a user task")
            elif host.lane != n.lane:
                problems.append(f"{n.id}: not in the lane of {host.id}")
            if incoming or len(outgoing) != 1 or not (n.time_date or n.time_duration):
                problems.append(f"{n.id}: a timer needs a time expression and exactly one outgoing flow")
        if n.kind in GATEWAYS and len(outgoing) > 1:
            if sum(f.is_default for f in outgoing) != 1:
                problems.append(f"{n.id}: needs exactly one default flow")
            if any(f.condition is None for f in outgoing if not f.is_default):
                problems.append(f"{n.id}: a non-default flow has no condition")
        elif any(f.condition or f.is_default for f in outgoing):
            problems.append(f"{n.id}: conditions only belong on splitting gateways")
    if not problems:
        problems += _check_branches(proc)
    return problems


def _branch_chains(proc: Process) -> dict[str, list[str]]:
    """Per boundary timer, the nodes its flow runs through (the layout puts them on one row)."""
    outgoing: dict[str, list[str]] = {n.id: [] for n in proc.nodes}
    for f in proc.flows:
        outgoing[f.source].append(f.target)
    chains: dict[str, list[str]] = {}
    for n in proc.nodes:
        if n.kind != "timer":
            continue
        path = [n.id]
        while outgoing[path[-1]] and len(path) <= len(proc.nodes):
            path.append(outgoing[path[-1]][0])
        chains[n.id] = path[1:]
    return chains


def _check_branches(proc: Process) -> list[str]:
    """A timer's branch must be a plain sequence to an end event that nothing else flows into."""
    problems: list[str] = []
    kinds = {n.id: n.kind for n in proc.nodes}
    incoming: dict[str, int] = {n.id: 0 for n in proc.nodes}
    outgoing: dict[str, int] = {n.id: 0 for n in proc.nodes}
    for f in proc.flows:
        incoming[f.target] += 1
        outgoing[f.source] += 1
    for timer_id, path in _branch_chains(proc).items():
        if kinds[path[-1]] != "end" or any(incoming[i] != 1 for i in path) or any(
                outgoing[i] != 1 for i in path[:-1]):
            problems.append(f"{timer_id}: its branch must run straight to its own end event")
    return problems


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------

SIZES = {"user": (100.0, 80.0), "exclusive": (50.0, 50.0), "inclusive": (50.0, 50.0),
         "start": (36.0, 36.0), "end": (36.0, 36.0), "timer": (36.0, 36.0)}
POOL_X, POOL_Y = 150.0, 80.0
POOL_HEADER = 30.0       # bpmn-js draws the participant name in this band
LANE_HEADER = 30.0       # and each lane name in this one
CONTENT_PAD = 50.0       # from the lane name band to the first column, and after the last
COLUMN_GAP = 70.0
ROW_HEIGHT = 80.0
ROW_GAP = 60.0
LANE_PAD = 50.0          # above the first and below the last row; edges loop back through it
BOUNDARY_SLOT = 40.0     # of a task's bottom edge per boundary timer, so the 36 px events never touch
BRANCH_GAP = 40.0        # between the nodes of a timer's branch
BRANCH_LEAD = 40.0       # at least this far from a timer's flow down to where its branch starts
BRANCH_MARGIN = 20.0     # clearance around a branch's shapes
EDGE_MARGIN = 8.0        # clearance between a branch's flows and shapes they pass
BRANCH_NEW_ROW_COST = 200.0  # a new row makes a lane taller: worth about as much as 2000 px of flow
LABEL_LINE = 14.0
LABEL_MAX_WIDTH = 90.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def port(self, side: str) -> Point:
        return {"left": (self.x, self.cy), "right": (self.right, self.cy),
                "top": (self.cx, self.y), "bottom": (self.cx, self.bottom)}[side]

    def overlaps(self, other: Rect, margin: float = 0.0) -> bool:
        return (self.x - margin < other.right and other.x < self.right + margin
                and self.y - margin < other.bottom and other.y < self.bottom + margin)

    def hit_by(self, a: Point, b: Point, margin: float = 2.0) -> bool:
        """Whether the axis-parallel segment a-b passes through this rectangle."""
        x1, x2 = sorted((a[0], b[0]))
        y1, y2 = sorted((a[1], b[1]))
        return (x1 < self.right + margin and x2 > self.x - margin
                and y1 < self.bottom + margin and y2 > self.y - margin)


@dataclass
class Layout:
    pool: Rect
    lanes: dict[str, Rect]
    shapes: dict[str, Rect]
    edges: dict[str, list[Point]]
    labels: dict[str, Rect]  # element id -> label bounds (events, gateways, named flows)


def _back_edges(proc: Process) -> set[str]:
    """Flows closing a loop, found by depth-first search from the start events in flow order."""
    outgoing: dict[str, list[Flow]] = {n.id: [] for n in proc.nodes}
    for f in proc.flows:
        outgoing[f.source].append(f)
    state: dict[str, int] = {}
    back: set[str] = set()

    def visit(node_id: str) -> None:
        state[node_id] = 1
        for f in outgoing[node_id]:
            seen = state.get(f.target)
            if seen == 1:
                back.add(f.id)
            elif seen is None:
                visit(f.target)
        state[node_id] = 2

    roots = [n.id for n in proc.nodes if n.kind == "start"] + [n.id for n in proc.nodes]
    for node_id in roots:
        if node_id not in state:
            visit(node_id)
    return back


def _ranks(proc: Process, back: set[str]) -> dict[str, int]:
    """Column of every node: the longest forward path from a start event."""
    forward = [f for f in proc.flows if f.id not in back]
    indegree = {n.id: 0 for n in proc.nodes}
    for f in forward:
        indegree[f.target] += 1
    rank = {n.id: 0 for n in proc.nodes}
    ready = [n.id for n in proc.nodes if indegree[n.id] == 0]
    while ready:
        node_id = ready.pop(0)
        for f in forward:
            if f.source == node_id:
                rank[f.target] = max(rank[f.target], rank[node_id] + 1)
                indegree[f.target] -= 1
                if indegree[f.target] == 0:
                    ready.append(f.target)
    return rank


def text_width(text: str) -> float:
    return sum(12.0 if ord(ch) > 0x2E80 else 6.5 for ch in text)


def label_size(text: str) -> tuple[float, float]:
    width = text_width(text)
    lines = max(1, math.ceil(width / LABEL_MAX_WIDTH))
    return (min(width, LABEL_MAX_WIDTH) + 4, lines * LABEL_LINE)


class _Router:
    """Picks, per flow, the cheapest orthogonal route that crosses no shape."""

    def __init__(self, shapes: dict[str, Rect], kinds: dict[str, str], channels: list[float],
                 gaps: list[float]) -> None:
        self.shapes = shapes
        self.kinds = kinds
        self.channels = channels  # free horizontal tracks (lane padding, gaps between rows)
        self.gaps = gaps          # free vertical tracks (centres of the gaps between columns)
        self.ports: dict[tuple[str, str], str] = {}  # (node, side) -> "in" | "out"
        self.segments: list[tuple[Point, Point]] = []

    def _blocked(self, points: list[Point], source: str, target: str) -> bool:
        last = len(points) - 2
        for i, (a, b) in enumerate(pairwise(points)):
            for node_id, rect in self.shapes.items():
                if (node_id == source and i == 0) or (node_id == target and i == last):
                    continue
                if rect.hit_by(a, b):
                    return True
        return False

    def _crossings(self, points: list[Point]) -> int:
        count = 0
        for a, b in pairwise(points):
            for c, d in self.segments:
                horizontal, other_horizontal = a[1] == b[1], c[1] == d[1]
                if horizontal == other_horizontal:
                    continue
                h1, h2, v1, v2 = (a, b, c, d) if horizontal else (c, d, a, b)
                if (min(h1[0], h2[0]) < v1[0] < max(h1[0], h2[0])
                        and min(v1[1], v2[1]) < h1[1] < max(v1[1], v2[1])):
                    count += 1
        return count

    def _port_cost(self, node_id: str, side: str, direction: str) -> float:
        cost = 0.0
        if direction == "out" and side in ("top", "bottom") and self.kinds[node_id] not in GATEWAYS:
            cost += 30.0  # tasks and events read best leaving to the right; gateways may branch
        used = self.ports.get((node_id, side))
        if used is None:
            return cost
        if used == direction == "in":
            return cost + (0.0 if side == "left" else 60.0)  # merging into one side reads as a join
        if used == direction == "out":
            return cost + 120.0  # a shared trunk that branches later still reads, a detour may not
        return cost + 400.0  # in and out through one side is ambiguous

    def _candidates(self, s: Rect, t: Rect) -> list[tuple[list[Point], str, str]]:
        found: list[tuple[list[Point], str, str]] = []
        vertical = "top" if t.cy < s.cy else "bottom"
        if abs(s.cy - t.cy) < 0.5 and t.x > s.right:
            found.append(([s.port("right"), t.port("left")], "right", "left"))
        if abs(s.cy - t.cy) >= 0.5:
            if t.x > s.cx + 10:
                # out of the top or bottom corner of a gateway, then along the target's row
                found.append(([s.port(vertical), (s.cx, t.cy), t.port("left")], vertical, "left"))
            if t.cx > s.right + 10 and not (t.y <= s.cy <= t.bottom):
                into = "bottom" if s.cy > t.cy else "top"
                found.append(([s.port("right"), (t.cx, s.cy), t.port(into)], "right", into))
            for gap in self.gaps:
                if s.right < gap < t.x:
                    found.append(([s.port("right"), (gap, s.cy), (gap, t.cy), t.port("left")],
                                  "right", "left"))
        for channel in self.channels:
            out_side = "top" if channel < s.y else "bottom" if channel > s.bottom else None
            in_side = "top" if channel < t.y else "bottom" if channel > t.bottom else None
            if out_side and in_side:
                found.append(([s.port(out_side), (s.cx, channel), (t.cx, channel), t.port(in_side)],
                              out_side, in_side))
        return found

    def route(self, flow: Flow) -> list[Point]:
        s, t = self.shapes[flow.source], self.shapes[flow.target]
        best: tuple[float, list[Point], str, str] | None = None
        for points, out_side, in_side in self._candidates(s, t):
            points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
            if self._blocked(points, flow.source, flow.target):
                continue
            length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in pairwise(points))
            cost = ((len(points) - 2) * 100 + length / 10 + 40 * self._crossings(points)
                    + self._port_cost(flow.source, out_side, "out")
                    + self._port_cost(flow.target, in_side, "in"))
            if best is None or cost < best[0]:
                best = (cost, points, out_side, in_side)
        if best is None:
            raise ValueError(f"no route for {flow.id}")
        _, points, out_side, in_side = best
        self.ports.setdefault((flow.source, out_side), "out")
        self.ports.setdefault((flow.target, in_side), "in")
        self.segments.extend(pairwise(points))
        return points


def _sizes(proc: Process) -> dict[str, tuple[float, float]]:
    """Shape sizes; a task carrying boundary timers widens so that they sit side by side."""
    timers_on: dict[str, int] = {}
    for n in proc.nodes:
        if n.kind == "timer" and n.attached_to:
            timers_on[n.attached_to] = timers_on.get(n.attached_to, 0) + 1
    sizes: dict[str, tuple[float, float]] = {}
    for n in proc.nodes:
        w, h = SIZES[n.kind]
        sizes[n.id] = (max(w, BOUNDARY_SLOT * timers_on.get(n.id, 0)), h)
    return sizes


def _lane_grid(lanes: Sequence[Lane], rows: dict[str, list[int]]) -> tuple[
        dict[str, tuple[float, float]], dict[tuple[str, int], float], list[float]]:
    """Top and height of every lane, top of every row, and the free horizontal tracks between rows."""
    spans: dict[str, tuple[float, float]] = {}
    row_top: dict[tuple[str, int], float] = {}
    channels: list[float] = []
    y = POOL_Y
    for lane in lanes:
        lane_rows = rows[lane.group]
        height = 2 * LANE_PAD + len(lane_rows) * ROW_HEIGHT + (len(lane_rows) - 1) * ROW_GAP
        spans[lane.group] = (y, height)
        for i, r in enumerate(lane_rows):
            top = y + LANE_PAD + i * (ROW_HEIGHT + ROW_GAP)
            row_top[(lane.group, r)] = top
            channels.append(top - (LANE_PAD if i == 0 else ROW_GAP) / 2)
        channels.append(y + height - LANE_PAD / 2)
        y += height
    return spans, row_top, channels


def layout(proc: Process) -> Layout:
    # Boundary timers and the branches they open are placed after the main flow, below it.
    chains = _branch_chains(proc)
    in_branch = set(chains) | {i for path in chains.values() for i in path}
    core = Process(proc.id, proc.name, proc.lanes, tuple(n for n in proc.nodes if n.id not in in_branch),
                   tuple(f for f in proc.flows if f.source not in in_branch))
    sizes = _sizes(proc)
    back = _back_edges(core)
    rank = _ranks(core, back)
    kinds = {n.id: n.kind for n in proc.nodes}

    # Rows: a node keeps its hinted row unless another node of its lane already sits in that cell.
    taken: set[tuple[str, int, int]] = set()
    row: dict[str, int] = {}
    for n in sorted(core.nodes, key=lambda n: rank[n.id]):
        r = n.row
        while (n.lane, rank[n.id], r) in taken:
            r += 1
        taken.add((n.lane, rank[n.id], r))
        row[n.id] = r

    columns = max(rank.values()) + 1
    widths = [max((sizes[n.id][0] for n in core.nodes if rank[n.id] == c), default=0.0)
              for c in range(columns)]
    # A task with timers gets room right after it for their branches, which hang below it, so that
    # they never have to share a row with the branches of the next such task.
    hang: dict[str, float] = {}  # task -> left edge of its branches, from the left edge of its column
    column_gap = [COLUMN_GAP] * columns
    for host_id, timer_ids in _timers_by_task(proc).items():
        c = rank[host_id]
        w = sizes[host_id][0]
        hang[host_id] = (widths[c] - w) / 2 + w - w / len(timer_ids) / 2 + BRANCH_LEAD
        branch_w = max(sum(sizes[i][0] for i in chains[t]) + BRANCH_GAP * (len(chains[t]) - 1)
                       for t in timer_ids)
        column_gap[c] = max(column_gap[c], hang[host_id] - widths[c] + branch_w + COLUMN_GAP)
    content_x = POOL_X + POOL_HEADER + LANE_HEADER + CONTENT_PAD
    column_x = []
    x = content_x
    for c, w in enumerate(widths):
        column_x.append(x)
        x += w + column_gap[c]
    content_right = x - column_gap[-1]
    # Flows that change rows between columns do so here, right of any branches in the gap.
    gaps = [column_x[c] + widths[c] + COLUMN_GAP / 2 if column_gap[c] == COLUMN_GAP
            else column_x[c + 1] - COLUMN_GAP / 2 for c in range(columns - 1)]

    cells: dict[str, tuple[str, int, float]] = {}  # node -> lane, row, left edge
    for n in core.nodes:
        c = rank[n.id]
        cells[n.id] = (n.lane, row[n.id], column_x[c] + (widths[c] - sizes[n.id][0]) / 2)
    main_rows: dict[str, list[int]] = {}
    for lane in proc.lanes:
        used = [row[n.id] for n in core.nodes if n.lane == lane.group]
        main_rows[lane.group] = list(range(min(used), max(used) + 1)) if used else []

    # The main flow is routed first, on lanes without branch rows; the branches then keep clear of it
    # and the rows they add push the lanes below (main flow included) down.
    placer = _BranchPlacer(proc, sizes, cells, main_rows, chains)
    shapes, _, rows = placer.geometry(placer.cells, placer.extra)
    _, _, channels = _lane_grid(proc.lanes, rows)
    router = _Router(shapes, kinds, sorted(set(channels)), gaps)
    # Forward flows first, so loops go round whatever the main path leaves free.
    ordered = [f for f in core.flows if f.id not in back] + [f for f in core.flows if f.id in back]
    placer.main_edges = {f.id: router.route(f) for f in ordered}

    candidate_x = sorted([column_x[rank[t]] + left for t, left in hang.items()] + column_x + [
        content_right + COLUMN_GAP + i * (SIZES["user"][0] + COLUMN_GAP) for i in range(3)])
    placer.place_all(candidate_x)
    shapes, edges, rows = placer.geometry(placer.cells, placer.extra)
    spans, _, _ = _lane_grid(proc.lanes, rows)

    content_right = max([content_right] + [r.right for r in shapes.values()])
    lane_x = POOL_X + POOL_HEADER
    lane_w = content_right + CONTENT_PAD - lane_x
    lanes = {group: Rect(lane_x, top, lane_w, height) for group, (top, height) in spans.items()}
    bottom = max(top + height for top, height in spans.values())
    pool = Rect(POOL_X, POOL_Y, lane_w + POOL_HEADER, bottom - POOL_Y)
    shapes = {n.id: shapes[n.id] for n in proc.nodes}
    edges = {f.id: edges[f.id] for f in proc.flows}
    labels = _place_labels(proc, shapes, edges)
    return Layout(pool, lanes, shapes, edges, labels)


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether two axis-parallel segments cross at a point inside both."""
    if (a[1] == b[1]) == (c[1] == d[1]):
        return False
    (h1, h2), (v1, v2) = ((a, b), (c, d)) if a[1] == b[1] else ((c, d), (a, b))
    return (min(h1[0], h2[0]) < v1[0] < max(h1[0], h2[0])
            and min(v1[1], v2[1]) < h1[1] < max(v1[1], v2[1]))


def _segments_overlap(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether two axis-parallel segments run along one line for a stretch (edges drawn on top of each other)."""
    if a[0] == b[0] == c[0] == d[0]:
        return min(max(a[1], b[1]), max(c[1], d[1])) > max(min(a[1], b[1]), min(c[1], d[1]))
    if a[1] == b[1] == c[1] == d[1]:
        return min(max(a[0], b[0]), max(c[0], d[0])) > max(min(a[0], b[0]), min(c[0], d[0]))
    return False


def _timers_by_task(proc: Process) -> dict[str, list[str]]:
    timers: dict[str, list[str]] = {}
    for n in proc.nodes:
        if n.kind == "timer":
            timers.setdefault(n.attached_to or "", []).append(n.id)
    return timers


class _BranchPlacer:
    """Puts the boundary timers on the bottom edge of their task and each timer's branch (a task and
    its end event) on a row of its lane below the main flow, right of the task the timer sits on:
    in the room layout() leaves after that task where it is free, else further right.

    Timers are ordered along the edge by how deep their branch lies, deepest on the left: each flow
    drops straight down and turns right into its branch, so no two of them cross.  Rows below the
    main flow are added to a lane only when no free place is left on the existing ones; branches
    keep clear of the main flow's edges and of the way down other timers' flows still need.
    """

    def __init__(self, proc: Process, sizes: dict[str, tuple[float, float]],
                 cells: dict[str, tuple[str, int, float]], main_rows: dict[str, list[int]],
                 chains: dict[str, list[str]]) -> None:
        self.proc = proc
        self.sizes = sizes
        self.nodes = {n.id: n for n in proc.nodes}
        self.lane_index = {lane.group: i for i, lane in enumerate(proc.lanes)}
        self.main_rows = main_rows
        self.cells = dict(cells)  # main and placed branch nodes
        self.extra = {lane.group: 0 for lane in proc.lanes}  # branch rows below the main rows
        self.chains = chains
        self.main_edges: dict[str, list[Point]] = {}  # routed on the lanes without branch rows
        self.main_spans, _, _ = _lane_grid(proc.lanes, self.rows(self.extra))
        self.hosts = _timers_by_task(proc)  # task -> its timers, sorted left to right below
        self.timer_x: dict[str, float] = {}  # timer -> centre x offset from its task's left edge
        declared = {timer_id: i for i, timer_id in enumerate(chains)}
        for host_id, timer_ids in self.hosts.items():
            timer_ids.sort(key=lambda t: (self.lane_index[self.nodes[chains[t][0]].lane], declared[t]), reverse=True)
            slot = self.sizes[host_id][0] / len(timer_ids)
            for i, timer_id in enumerate(timer_ids):
                self.timer_x[timer_id] = slot * (i + 0.5)

    def rows(self, extra: dict[str, int]) -> dict[str, list[int]]:
        result = {}
        for group, used in self.main_rows.items():
            first = used[-1] + 1 if used else 0
            result[group] = used + list(range(first, first + extra[group])) or [0]
        return result

    def branch_row(self, group: str, k: int) -> int:
        used = self.main_rows[group]
        return (used[-1] + 1 if used else 0) + k

    def geometry(self, cells: dict[str, tuple[str, int, float]], extra: dict[str, int]) -> tuple[
            dict[str, Rect], dict[str, list[Point]], dict[str, list[int]]]:
        rows = self.rows(extra)
        spans, row_top, _ = _lane_grid(self.proc.lanes, rows)
        shapes: dict[str, Rect] = {}
        for node_id, (group, r, left) in cells.items():
            w, h = self.sizes[node_id]
            shapes[node_id] = Rect(left, row_top[(group, r)] + (ROW_HEIGHT - h) / 2, w, h)
        for timer_id, offset in self.timer_x.items():
            host = shapes[self.nodes[timer_id].attached_to or ""]
            w, h = self.sizes[timer_id]
            shapes[timer_id] = Rect(host.x + offset - w / 2, host.bottom - h / 2, w, h)

        def moved(y: float) -> float:
            # The main flow was routed before branch rows existed; rows added above move it down.
            for group, (top, height) in self.main_spans.items():
                if top <= y <= top + height:
                    return y + spans[group][0] - top
            raise ValueError(f"{y} lies outside every lane")

        edges = {flow_id: [(px, moved(py)) for px, py in points] for flow_id, points in self.main_edges.items()}
        for timer_id, path in self.chains.items():
            event = shapes[timer_id]
            if path[0] not in shapes:
                # Not placed yet: keep its way down through every row of its branch's lane free.
                top, height = spans[self.nodes[path[0]].lane]
                edges[f"flow_{timer_id}_{path[0]}"] = [(event.cx, event.bottom),
                                                       (event.cx, max(top + height - LANE_PAD, event.bottom))]
                continue
            first = shapes[path[0]]
            edges[f"flow_{timer_id}_{path[0]}"] = [(event.cx, event.bottom), (event.cx, first.cy),
                                                   (first.x, first.cy)]
            for a, b in pairwise(path):
                edges[f"flow_{a}_{b}"] = [(shapes[a].right, shapes[a].cy), (shapes[b].x, shapes[b].cy)]
        return shapes, edges, rows

    def place_all(self, candidate_x: list[float]) -> None:
        for timer_ids in self.hosts.values():
            for timer_id in reversed(timer_ids):  # shallowest first: it takes the nearest place
                self._place(timer_id, self.chains[timer_id], candidate_x)

    def _place(self, timer_id: str, path: list[str], candidate_x: list[float]) -> None:
        group = self.nodes[path[0]].lane
        shapes, _, _ = self.geometry(self.cells, self.extra)
        event = shapes[timer_id]
        best: tuple[float, dict[str, tuple[str, int, float]], dict[str, int]] | None = None
        for k in range(self.extra[group] + 1):
            extra = {**self.extra, group: max(self.extra[group], k + 1)}
            r = self.branch_row(group, k)
            for left in candidate_x:
                if left < event.cx + BRANCH_LEAD:
                    continue
                cells = dict(self.cells)
                x = left
                for node_id in path:
                    cells[node_id] = (group, r, x)
                    x += self.sizes[node_id][0] + BRANCH_GAP
                cost = self._cost(timer_id, path, cells, extra)
                if cost is not None:
                    cost += (left - event.cx) / 10 + k * 20 + (BRANCH_NEW_ROW_COST if k == self.extra[group] else 0)
                    if best is None or cost < best[0]:
                        best = (cost, cells, extra)
        if best is None:
            raise ValueError(f"{self.proc.id}: no place for the branch of {timer_id}")
        _, self.cells, self.extra = best

    def _cost(self, timer_id: str, path: list[str], cells: dict[str, tuple[str, int, float]],
              extra: dict[str, int]) -> float | None:
        """Crossings the branch adds, or None where it would touch a shape or run along another edge."""
        shapes, edges, _ = self.geometry(cells, extra)
        new_ids = set(path)
        new_flows = {f"flow_{timer_id}_{path[0]}"} | {f"flow_{a}_{b}" for a, b in pairwise(path)}
        if shapes[path[0]].cy <= shapes[timer_id].bottom:
            return None
        for node_id in new_ids:
            if any(other != node_id and shapes[node_id].overlaps(rect, BRANCH_MARGIN)
                   for other, rect in shapes.items()):
                return None
        old = [seg for flow_id, points in edges.items() if flow_id not in new_flows
               for seg in pairwise(points)]
        if any(shapes[node_id].hit_by(a, b, EDGE_MARGIN) for node_id in new_ids for a, b in old):
            return None
        crossings = 0
        for flow_id in new_flows:
            points = edges[flow_id]
            ends = {timer_id, *path}
            for a, b in pairwise(points):
                for node_id, rect in shapes.items():
                    if node_id not in ends and rect.hit_by(a, b, EDGE_MARGIN):
                        return None
                for c, d in old:
                    if _segments_overlap(a, b, c, d):
                        return None
                    crossings += _segments_cross(a, b, c, d)
        return 40.0 * crossings


def _place_labels(proc: Process, shapes: dict[str, Rect], edges: dict[str, list[Point]]) -> dict[str, Rect]:
    placed: dict[str, Rect] = {}
    segments = [seg for points in edges.values() for seg in pairwise(points)]

    def free(box: Rect, own: Sequence[tuple[Point, Point]] = ()) -> bool:
        if any(box.overlaps(r, 2) for r in shapes.values()):
            return False
        if any(box.overlaps(r, 2) for r in placed.values()):
            return False
        return not any(box.hit_by(a, b, 1) for a, b in segments if (a, b) not in own)

    def choose(element_id: str, options: list[Rect], own: Sequence[tuple[Point, Point]] = ()) -> None:
        placed[element_id] = next((o for o in options if free(o, own)), options[0])

    for n in proc.nodes:
        if n.kind == "user":
            continue
        r = shapes[n.id]
        w, h = label_size(n.name)
        below = Rect(r.cx - w / 2, r.bottom + 5, w, h)
        above = Rect(r.cx - w / 2, r.y - 5 - h, w, h)
        upper_left = Rect(r.x - w - 2, r.y - h, w, h)
        upper_right = Rect(r.right + 2, r.y - h, w, h)
        lower_right = Rect(r.right + 2, r.bottom, w, h)
        lower_left = Rect(r.x - w - 2, r.bottom, w, h)
        if n.kind in ("start", "end"):
            choose(n.id, [below, above, lower_right, upper_right])
        elif n.kind == "timer":
            # Its neighbours' flows leave no room below a timer: name it where its own flow turns.
            points = next(edges[f.id] for f in proc.flows if f.source == n.id)
            (cx, _), (_, turn_y) = points[0], points[1]
            choose(n.id, [Rect(cx + 4, turn_y - h - 3, w, h), Rect(cx + 4, turn_y + 3, w, h),
                          lower_right, lower_left], own=list(pairwise(points)))
        else:
            choose(n.id, [above, below, upper_left, upper_right, lower_left, lower_right])

    def shares_first_stretch(f: Flow) -> bool:
        (a, b) = edges[f.id][:2]
        for other in proc.flows:
            if other.id == f.id or other.source != f.source:
                continue
            (c, d) = edges[other.id][:2]
            if a == c and (b[0] - a[0]) * (d[0] - c[0]) + (b[1] - a[1]) * (d[1] - c[1]) > 0:
                return True
        return False

    for f in proc.flows:
        if not f.name:
            continue
        points = edges[f.id]
        if len(points) > 2 and shares_first_stretch(f):
            # Several answers leave by one trunk: name each where it turns off towards its target.
            points = points[-2:]
        (x0, y0), (_, y1) = points[0], points[1]
        w, h = label_size(f.name)
        if y0 == y1:  # leaves to the right
            options = [Rect(x0 + 4, y0 - h - 3, w, h), Rect(x0 + 4, y0 + 3, w, h)]
        elif y1 < y0:  # leaves upwards
            options = [Rect(x0 + 5, y0 - h - 4, w, h), Rect(x0 - w - 5, y0 - h - 4, w, h)]
        else:
            options = [Rect(x0 + 5, y0 + 4, w, h), Rect(x0 - w - 5, y0 + 4, w, h)]
        # When two flows share the first stretch, try further along the line too.
        if y0 == y1:
            options += [Rect(x0 + 4 + w + 6, y0 - h - 3, w, h), Rect(x0 + 4 + w + 6, y0 + 3, w, h)]
        choose(f.id, options, own=list(pairwise(points)))
    return placed


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

def _q(prefix: str, local: str) -> str:
    return f"{{{NSMAP[prefix]}}}{local}"


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _bounds(parent: etree._Element, r: Rect) -> None:
    etree.SubElement(parent, _q("dc", "Bounds"), x=_fmt(r.x), y=_fmt(r.y), width=_fmt(r.w),
                     height=_fmt(r.h))


TAGS = {"start": "startEvent", "end": "endEvent", "user": "userTask",
        "exclusive": "exclusiveGateway", "inclusive": "inclusiveGateway", "timer": "boundaryEvent"}


def build(proc: Process) -> bytes:
    problems = check_description(proc)
    if problems:
        raise ValueError(f"{proc.id}: " + "; ".join(problems))
    geo = layout(proc)

    root = etree.Element(_q("bpmn", "definitions"), nsmap=NSMAP)
    root.set("id", f"definitions_{proc.id}")
    root.set("targetNamespace", TARGET_NAMESPACE)
    root.set("exporter", EXPORTER)
    root.set("exporterVersion", EXPORTER_VERSION)

    collaboration = etree.SubElement(root, _q("bpmn", "collaboration"), id=f"collaboration_{proc.id}")
    etree.SubElement(collaboration, _q("bpmn", "participant"), id=f"participant_{proc.id}",
                     name=proc.name, processRef=proc.id)

    process_el = etree.SubElement(root, _q("bpmn", "process"), id=proc.id, name=proc.name,
                                  isExecutable="true")
    lane_set = etree.SubElement(process_el, _q("bpmn", "laneSet"), id=f"lane_set_{proc.id}")
    for lane in proc.lanes:
        lane_el = etree.SubElement(lane_set, _q("bpmn", "lane"), id=f"lane_{lane.group}",
                                   name=lane.name)
        for n in proc.nodes:
            if n.lane == lane.group:
                etree.SubElement(lane_el, _q("bpmn", "flowNodeRef")).text = n.id

    for n in proc.nodes:
        el = etree.SubElement(process_el, _q("bpmn", TAGS[n.kind]), id=n.id, name=n.name)
        if n.kind == "start":
            el.set(_q("camunda", "formKey"), n.form_key or "")
        elif n.kind == "user":
            el.set(_q("camunda", "formKey"), n.form_key or "")
            el.set(_q("camunda", "candidateGroups"), n.lane)
            if n.initiator:
                el.set(_q("camunda", "assignee"), "${initiator}")
        elif n.kind == "timer":
            # A warning or escalation leaves the task open; a closing timer ends it.
            el.set("cancelActivity", "true" if n.interrupting else "false")
            el.set("attachedToRef", n.attached_to or "")
        if n.properties:
            extension = etree.SubElement(el, _q("bpmn", "extensionElements"))
            properties = etree.SubElement(extension, _q("camunda", "properties"))
            for key, value in n.properties:
                etree.SubElement(properties, _q("camunda", "property"), name=key, value=value)
        default = next((f for f in proc.flows if f.source == n.id and f.is_default), None)
        if default is not None:
            el.set("default", default.id)
        for f in proc.flows:
            if f.target == n.id:
                etree.SubElement(el, _q("bpmn", "incoming")).text = f.id
        for f in proc.flows:
            if f.source == n.id:
                etree.SubElement(el, _q("bpmn", "outgoing")).text = f.id
        if n.kind == "timer":
            definition = etree.SubElement(el, _q("bpmn", "timerEventDefinition"), id=f"{n.id}_timer")
            time = etree.SubElement(definition, _q("bpmn", "timeDuration" if n.time_duration else "timeDate"))
            time.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            time.text = n.time_duration or n.time_date

    for f in proc.flows:
        el = etree.SubElement(process_el, _q("bpmn", "sequenceFlow"), id=f.id)
        if f.name:
            el.set("name", f.name)
        el.set("sourceRef", f.source)
        el.set("targetRef", f.target)
        if f.condition is not None:
            cond = etree.SubElement(el, _q("bpmn", "conditionExpression"))
            cond.set(_q("xsi", "type"), "bpmn:tFormalExpression")
            cond.text = f.condition

    diagram = etree.SubElement(root, _q("bpmndi", "BPMNDiagram"), id=f"diagram_{proc.id}")
    plane = etree.SubElement(diagram, _q("bpmndi", "BPMNPlane"), id=f"plane_{proc.id}",
                             bpmnElement=f"collaboration_{proc.id}")
    shape = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"participant_{proc.id}_di",
                             bpmnElement=f"participant_{proc.id}", isHorizontal="true")
    _bounds(shape, geo.pool)
    for lane in proc.lanes:
        shape = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"lane_{lane.group}_di",
                                 bpmnElement=f"lane_{lane.group}", isHorizontal="true")
        _bounds(shape, geo.lanes[lane.group])
    for n in proc.nodes:
        shape = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"{n.id}_di", bpmnElement=n.id)
        if n.kind == "exclusive":
            shape.set("isMarkerVisible", "true")
        _bounds(shape, geo.shapes[n.id])
        if n.id in geo.labels:
            _bounds(etree.SubElement(shape, _q("bpmndi", "BPMNLabel")), geo.labels[n.id])
    for f in proc.flows:
        edge = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id=f"{f.id}_di", bpmnElement=f.id)
        for px, py in geo.edges[f.id]:
            etree.SubElement(edge, _q("di", "waypoint"), x=_fmt(px), y=_fmt(py))
        if f.id in geo.labels:
            _bounds(etree.SubElement(edge, _q("bpmndi", "BPMNLabel")), geo.labels[f.id])

    etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1] if __doc__ else None)
    parser.add_argument("process_ids", nargs="*", help="only these processes (default: all)")
    parser.add_argument("--out", type=Path, default=BPMN_DIR, help="target directory (default: bpmn/)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    args = parser.parse_args(argv)

    known = {p.id: p for p in PROCESSES}
    unknown = [pid for pid in args.process_ids if pid not in known]
    if unknown:
        parser.error(f"unknown process ids: {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for pid in args.process_ids or list(known):
        path = args.out / f"{pid}.bpmn"
        if path.exists() and not args.overwrite:
            print(f"kept     {path} (exists; --overwrite replaces it)")
            continue
        path.write_bytes(build(known[pid]))
        print(f"wrote    {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
