"""Minimal valid form payloads for the bundled diagrams, and the history checks every branch test shares.

Payloads are written by hand, one function per form key, so a form that starts requiring a new field
breaks these tests loudly instead of being filled in silently.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from engine.desk import case
from tests.support.flows import Flow

Data = dict[str, Any]


class Step(NamedTuple):
    """One user task to complete: its element id, the form data, and the demo user (named after the group)."""

    element_id: str
    data: Data
    user: str
    assignee: str | None = None  # who the task is assigned to when it opens (派发 names the engineer)


# --- start forms ---------------------------------------------------------------------------------

def request() -> Data:
    return {
        "channel": "phone", "requester_name": "王丽", "contact_phone": "13912345678",
        "organisation": "市第一人民医院信息科", "system": "门诊 HIS 系统", "title": "门诊挂号窗口无法登录 HIS",
        "description": "早上八点起三个挂号窗口登录 HIS 超时，其他科室正常", "urgency": "high",
    }


def health_check_start() -> Data:
    return {"organisation": "市教育局数据中心", "contract": "2024-运维-017", "scheduled_for": "2024-06-03"}


def problem_submit(kind: str) -> Data:
    return {"kind": kind, "description": "报表导出时金额列合计与明细不一致"}


def adjustment_request(kind: str, estimate_days: int) -> Data:
    return {"kind": kind, "estimate_days": estimate_days, "description": "工单列表增加按片区筛选"}


# --- service desk ---------------------------------------------------------------------------------

def accept() -> Data:
    return {"request_confirmed": True, "notes": "电话受理，已登记"}


def classify(*, needs_third_party: bool | None = None, category: str = "fault", fault_level: str = "II",
             **flags: bool) -> Data:
    """事件分类; `flags` are the other yes/no answers (out_of_scope, simple_request)."""
    data: Data = {"category": category, "fault_level": fault_level, "impact": "三个挂号窗口停用", **flags}
    if needs_third_party is not None:
        data["needs_third_party"] = needs_third_party
    return data


def dispatch_onsite(engineer: str = "engineer") -> Data:
    return {"engineer": engineer, "appointment_at": "2024-05-06T10:00:00+08:00",
            "address": "市第一人民医院门诊楼三层机房"}


def first_line_answer(*, resolved: bool = True) -> Data:
    return {"answer": "已电话告知挂号系统的密码重置步骤" if resolved else "电话指导后仍无法登录",
            "method": "phone", "resolved": resolved}


def escalate(group: str = "engineer") -> Data:
    return {"reason": "现场更换网卡后仍无法登录，需要数据库专家", "escalated_to_group": group}


def satisfaction(*, remaining_problem: bool) -> Data:
    return {"score": 4, "comment": "处理及时", "remaining_problem": remaining_problem}


def root_cause() -> Data:
    return {"cause": "数据库连接池配置过小", "corrective_action": "连接池上限调至 200",
            "preventive_action": "纳入巡检项"}


# --- resolution forms -----------------------------------------------------------------------------

def resolution(*, resolved: bool, method: str = "remote") -> Data:
    actions = "远程重启应用服务并清理会话" if resolved else "远程排查未能定位，需进一步处理"
    return {"resolved": resolved, "method": method, "actions": actions}


def onsite_resolution(*, resolved: bool) -> Data:
    return {
        **resolution(resolved=resolved, method="onsite"),
        "work_done": "更换交换机端口并重新布线", "customer_confirmed": True,
    }


# --- emergency ------------------------------------------------------------------------------------

def analyse_fault() -> Data:
    return {"symptom": "核心交换机宕机，全院断网", "suspected_cause": "电源模块故障", "fault_level": "I"}


def resident_manager_report(*, resolved: bool) -> Data:
    return {"customer_contact": "信息科张主任", "progress": "已通报故障进度，协调备用线路", "resolved": resolved}


def general_manager_report() -> Data:
    return {"instructions": "调集备件库库存并由原厂工程师连夜到场"}


def record_in_backoffice() -> Data:
    return {"summary": "处理过程及结果已录入后台数据库"}


def fault_report() -> Data:
    return {"fault_kind": "硬件故障", "cause": "交换机电源模块老化", "handling_method": "更换电源模块"}


# --- health check ---------------------------------------------------------------------------------

def hc_prepare() -> Data:
    return {"customer_contact": "数据中心刘工", "plan": "六月例行巡检，上午硬件下午软件",
            "device_list": "存储 2 台，服务器 8 台"}


def hc_collect(*, hardware_issues: bool, software_issues: bool) -> Data:
    return {"collected_data": "设备日志及性能数据已采集", "hardware_issues": hardware_issues,
            "software_issues": software_issues}


def hc_training() -> Data:
    return {"maintenance_notes": "日常检查存储告警灯和磁盘空间", "service_report": "健康检查服务报告已交用户签字"}


def hc_summary() -> Data:
    return {"findings": "整体运行正常", "recommendations": "明年更换两块老化硬盘"}


# --- third party ----------------------------------------------------------------------------------

def contact_vendor() -> Data:
    return {"vendor": "海康威视华东服务中心", "ticket_no": "HK-20240506-88"}


def vendor_support() -> Data:
    return {"solution": "升级录像机固件至 V4.3 后恢复"}


def verify_vendor_solution(*, resolved: bool) -> Data:
    verification = "录像回放正常，用户确认" if resolved else "升级后仍频繁掉线"
    return {"resolved": resolved, "actions": "按厂商方案升级录像机固件", "verification": verification}


# --- other services -------------------------------------------------------------------------------

def record_analyse() -> Data:
    return {"need": "巡检时需打开用户机柜检查线缆", "analysis": "超出服务范围，需要用户书面允许"}


def onsite_check() -> Data:
    return {"findings": "机柜内线缆松动，需重新整理"}


def feasible_plan() -> Data:
    return {"plan": "停机十分钟重新整理并固定线缆", "rollback": "按原样恢复接线"}


def ask_permission() -> Data:
    return {"request_text": "申请于周六上午打开三号机柜整理线缆"}


def customer_permission(*, permitted: bool) -> Data:
    return {"permitted": permitted, "conditions": "须有信息科人员在场" if permitted else "本月不安排停机"}


# --- problem management ---------------------------------------------------------------------------

def consultation_record() -> Data:
    return {"question": "如何导出上月报表", "answer": "在报表中心选择月份后点击导出"}


def problem_analyse(problem_type: str) -> Data:
    return {"problem_type": problem_type, "analysis": "复现成功，合计使用了四舍五入前的金额"}


def explain_and_convert() -> Data:
    return {"explanation": "需先选择统计口径再导出，已电话指导用户"}


def problem_confirm(*, supervisor_approved: bool) -> Data:
    return {"proposal": "合计改为按明细四舍五入后求和", "supervisor_approved": supervisor_approved}


def verify(*, verified: bool) -> Data:
    return {"verified": verified, "comment": "验证通过" if verified else "合计仍差一分钱"}


def problem_report() -> Data:
    return {"summary": "报表合计问题已修复并上报"}


def problem_reply() -> Data:
    return {"reply": "问题已修复，请更新至 2.3.1", "root_cause": "合计算法与明细舍入不一致"}


# --- software adjustment --------------------------------------------------------------------------

def adjustment_approval(*, approved: bool) -> Data:
    return {"approved": approved, "comment": "同意实施" if approved else "不在本期合同范围内"}


# --- driving and checking -------------------------------------------------------------------------

def drive(flow: Flow, steps: Sequence[Step]) -> None:
    """Complete the steps in order; each must be the only open task when its turn comes.

    Demo users are named after their one group, so the step's user also states the task's group;
    the requester's own tasks must be assigned to whoever started the instance, others to the step's assignee.
    """
    started_by = flow.view()["started_by"]
    for step in steps:
        open_tasks = flow.open_tasks()
        assert [t["element_id"] for t in open_tasks] == [step.element_id], f"open before {step.element_id}"
        [task] = open_tasks
        assert task["group"] == step.user, task
        assert task["assignee"] == (started_by if task["group"] == "requester" else step.assignee), task
        flow.complete(step.element_id, step.data, step.user)


def assert_history(flow: Flow, steps: Sequence[Step], *, end_event: str | None) -> None:
    """The history tells the whole story: start, who completed what with which data, every task closed, end."""
    events = flow.events()
    assert events[0]["kind"] == "instance_started"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    completed = [e for e in events if e["kind"] == "task_completed"]
    assert [(e["element_id"], e["actor"]) for e in completed] == [(s.element_id, s.user) for s in steps]
    for event, step in zip(completed, steps, strict=True):
        # Forms may add defaults for unset optional fields; everything submitted must be there as sent.
        assert step.data.items() <= event["payload"]["data"].items(), event
    running = flow.status() == "running"
    open_ids = {t["id"] for t in flow.open_tasks()}
    for index, ready in enumerate(events):
        if ready["kind"] != "task_ready":
            continue
        closed = any(e["kind"] == "task_completed" and e["task_id"] == ready["task_id"] for e in events[index + 1:])
        assert closed or (running and ready["task_id"] in open_ids), f"task_ready never completed: {ready}"
    if end_event is None:
        assert running and not any(e["kind"] == "instance_ended" for e in events)
    else:
        assert not open_ids
        assert events[-1]["kind"] == "instance_ended" and events[-1]["element_id"] == end_event


def assert_resolved(flow: Flow) -> None:
    """The case record has a resolution time: nothing was closed as resolved without one."""
    with flow.db.transaction() as session:
        assert case.get(session, flow.id).resolved_at is not None


# --- complaint ------------------------------------------------------------------------------------

def complaint_responsible(person: str) -> Data:
    return {"first_responsible": person, "finding": "工程师两次预约未到场，客户三次来电督促"}


def complaint_handling() -> Data:
    return {"actions": "当天派工程师到场修复，向客户致歉", "cause": "片区匹配错误，维护员未接到单"}


def complaint_callback(*, satisfied: bool) -> Data:
    return {"satisfied": satisfied, "customer_comment": "已修好" if satisfied else "还是经常断"}
