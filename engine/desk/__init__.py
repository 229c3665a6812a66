"""The service-desk domain: SLA, the case record, chasing, notices, health-check schedules, inbox and task lists,
zones and customers, request numbers and the agents' request search.

It acts on the process core through the core's hooks (engine.process.hooks); the core never imports it.
`install()` connects every desk rule, here and nowhere else; each entry point calls it once before
running the engine: the app factory (web, CLI, gunicorn), the test fixtures, the benchmarks and the
timer worker.
"""
from __future__ import annotations


def install() -> None:
    """Connect the desk's receivers to the core's hooks and register its periodic job (idempotent)."""
    from engine.desk import (
        callback,
        case,
        complaint,
        customers,
        handover,
        knowledge,
        kpi,
        notifications,
        numbers,
        parts,
        pickers,
        request_search,
        schedules,
        service_reports,
        sla,
        zones,
    )
    from engine.process import hooks

    hooks.instance_starting.connect(sla.deadlines_at_start)
    hooks.instance_started.connect(case.open_case)
    hooks.instance_started.connect(sla.record_deadlines)
    hooks.task_completing.connect(knowledge.on_task_completing)  # gates first: a refusal costs nothing
    hooks.task_completing.connect(parts.on_task_completing)  # books parts_used out; a refusal undoes the step
    hooks.task_completing.connect(sla.deadlines_on_completion)
    hooks.task_completed.connect(case.record_completion)
    hooks.task_completed.connect(sla.record_deadlines)
    hooks.task_completed.connect(sla.start_fault_report)
    hooks.task_due.connect(sla.task_due)
    hooks.instance_ended.connect(case.close_case)
    hooks.instance_saved.connect(case.write)
    hooks.add_job(schedules.JOB)
    # Zones and customers: after the SLA's receivers (a contract's level replaces the default deadlines)
    # and after the case opens (the zone found replaces the form's text).
    hooks.instance_starting.connect(zones.route_at_start)
    hooks.instance_starting.connect(customers.contract_sla_at_start)
    hooks.instance_started.connect(zones.record_routing)
    hooks.add_job(parts.JOB)
    hooks.instance_started.connect(service_reports.on_started)
    hooks.task_completing.connect(service_reports.on_task_completing)
    hooks.task_due.connect(service_reports.task_due)
    hooks.add_job(service_reports.JOB)
    hooks.add_job(kpi.ROLLUP_JOB)
    # Issue 11 (flows): picked users, hand-overs between flows, the callback period and its automatic close.
    hooks.task_completing.connect(pickers.check_picked_users)
    hooks.task_completing.connect(callback.period_on_completion)
    hooks.instance_starting.connect(handover.link_at_start)
    hooks.change_recorded.connect(callback.record_auto_close)
    hooks.change_recorded.connect(handover.hand_over)
    # Complaints (engine.desk.complaint): the complaint channel and category 投诉 start the complaint flow.
    hooks.instance_starting.connect(complaint.on_instance_starting)
    hooks.task_completing.connect(complaint.on_task_completing)
    hooks.task_completed.connect(complaint.on_task_completed)
    # Issue 15 (search): the request's number at its start; its search words at the start and when a form
    # changes its text, written after the case row (which names the customer).
    hooks.instance_started.connect(numbers.number_at_start)
    hooks.instance_started.connect(request_search.note_start)
    hooks.task_completed.connect(request_search.note_completion)
    hooks.instance_saved.connect(request_search.index_saved)
    # Notifications (engine.desk.notifications): noted with each change, written with its instance row, mailed
    # after commit (the escalation mail of engine.desk.notify goes through it too).
    hooks.instance_started.connect(notifications.on_instance_started)
    hooks.tasks_opened.connect(notifications.on_tasks_opened)
    hooks.task_completed.connect(notifications.on_task_completed)
    hooks.task_reassigned.connect(notifications.on_task_reassigned)
    hooks.instance_saved.connect(notifications.write_staged)
    hooks.add_job(notifications.JOB)
