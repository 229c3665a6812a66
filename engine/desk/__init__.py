"""The service-desk domain: SLA, the case record, chasing, notices, health-check schedules, inbox and task lists.

It acts on the process core through the core's hooks (engine.process.hooks); the core never imports it.
`install()` connects every desk rule, here and nowhere else; each entry point calls it once before
running the engine: the app factory (web, CLI, gunicorn), the test fixtures, the benchmarks and the
timer worker.
"""
from __future__ import annotations


def install() -> None:
    """Connect the desk's receivers to the core's hooks and register its periodic job (idempotent)."""
    from engine.desk import case, knowledge, notify, schedules, sla
    from engine.process import hooks

    hooks.instance_starting.connect(sla.deadlines_at_start)
    hooks.instance_started.connect(case.open_case)
    hooks.instance_started.connect(sla.record_deadlines)
    hooks.task_completing.connect(knowledge.on_task_completing)  # gates first: a refusal costs nothing
    hooks.task_completing.connect(sla.deadlines_on_completion)
    hooks.task_completed.connect(case.record_completion)
    hooks.task_completed.connect(sla.record_deadlines)
    hooks.task_due.connect(sla.task_due)
    hooks.tasks_opened.connect(notify.mail_escalations)
    hooks.instance_ended.connect(case.close_case)
    hooks.instance_saved.connect(case.write)
    hooks.add_job(schedules.JOB)
    # Complaints (engine.desk.complaint): the complaint channel and category 投诉 start the complaint flow.
    from engine.desk import complaint
    hooks.instance_starting.connect(complaint.on_instance_starting)
    hooks.task_completing.connect(complaint.on_task_completing)
    hooks.task_completed.connect(complaint.on_task_completed)
