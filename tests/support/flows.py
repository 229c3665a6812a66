"""Drive one process instance through engine/ in tests, by element id, and read what happened."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import users
from engine.desk import knowledge, tasks
from engine.process import runtime
from engine.store.db import Database
from engine.store.models import TaskRecord

REQUEST = {
    "channel": "phone", "requester_name": "张三", "contact_phone": "13800000000", "organisation": "市医院信息科",
    "system": "HIS 服务器", "title": "HIS 无法登录", "description": "门诊 HIS 登录超时", "urgency": "high",
}


def allow_closing(db: Database, instance_id: int, manager: str = "service_manager") -> None:
    """A case closes only with an approved solution or a manager's "no reusable solution" (seed 003,
    engine.desk.knowledge); tests about other rules record the latter. The rule's own tests:
    tests/engine/test_knowledge.py, tests/app/test_kb.py."""
    with db.transaction() as session:
        knowledge.mark_no_reusable_solution(session, instance_id=instance_id, reason="一次性故障，无可复用的解决方案",
                                            actor=users.actor(session, manager))


class Flow:
    """One instance: start it, complete its open tasks by element id, read its path and history."""

    def __init__(self, db: Database, process_id: str, data: dict[str, Any] | None = None,
                 user: str = "requester"):
        self.db = db
        with db.transaction() as session:
            instance = runtime.start_instance(session, process_id=process_id, data=data or dict(REQUEST),
                                              actor=users.actor(session, user))
            self.id = instance.id

    def allow_closing(self, manager: str = "service_manager") -> None:
        allow_closing(self.db, self.id, manager)

    def open_tasks(self) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            return tasks.instance_view(session, self.id)["open_tasks"]

    def open_elements(self) -> list[str]:
        return sorted(t["element_id"] for t in self.open_tasks())

    def task_id(self, element_id: str) -> int:
        with self.db.transaction() as session:
            ids = list(session.scalars(select(TaskRecord.id).where(
                TaskRecord.instance_id == self.id, TaskRecord.element_id == element_id, TaskRecord.state == "ready")))
        assert len(ids) == 1, f"expected one open {element_id!r}, open: {self.open_elements()}"
        return ids[0]

    def complete(self, element_id: str, data: dict[str, Any], user: str) -> None:
        task_id = self.task_id(element_id)
        with self.db.transaction() as session:
            runtime.complete_task(session, task_id=task_id, data=data, actor=users.actor(session, user))

    def view(self) -> dict[str, Any]:
        with self.db.transaction() as session:
            return tasks.instance_view(session, self.id)

    def status(self) -> str:
        return self.view()["status"]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.view()["history"] if kind is None or e["kind"] == kind]

    def completed_path(self) -> list[str]:
        """Element ids of the user tasks completed, in order."""
        return [e["element_id"] for e in self.events("task_completed")]

    def gateways(self) -> list[tuple[str, list[str]]]:
        return [(e["element_id"], e["payload"]["taken"]) for e in self.events("gateway_taken")]


def flow_of(db: Database, instance_id: int) -> Flow:
    """A Flow for an instance started elsewhere (e.g. the complaint flow the desk's rules start)."""
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, instance_id
    return flow
