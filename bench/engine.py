"""Engine benchmark: service-desk instances per second through engine/ on SQLite vs bare
SpiffWorkflow in memory, and the cost of one step after 5 and 200 turns of the 遗留问题 loop.

Run: .venv/bin/python -m bench.engine [--instances N] [--raw-instances N] [--rounds N]
Last line: RESULT persisted_per_s=… raw_per_s=… ratio=… loop_step_ratio=… raw_loop_step_ratio=…
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine import bootstrap, users
from engine.desk import callback, knowledge, sla
from engine.process import runtime
from engine.store import schema
from engine.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "bpmn" / "service_desk.bpmn"

REQUEST = {"channel": "phone", "requester_name": "张三", "contact_phone": "13800000000", "organisation": "市医院",
           "system": "HIS", "title": "HIS 无法登录", "description": "登录超时", "urgency": "high"}
# The happy path: (element id, form data, acting demo user).
HAPPY_PATH = [
    ("accept", {"request_confirmed": True}, "service_desk"),
    # The yes/no answers spelled out: bare SpiffWorkflow reads an unset name in a condition as an error
    # (opsflow's form gives them as False anyway).
    ("classify", {"category": "fault", "fault_level": "III", "needs_third_party": False, "out_of_scope": False,
                  "simple_request": False}, "service_desk"),
    ("remote_fix", {"resolved": True, "method": "remote", "actions": "远程重启服务"}, "engineer"),
    ("satisfaction", {"score": 5, "remaining_problem": False}, "requester"),
]
LOOP_TURN = [
    ("satisfaction", {"score": 2, "remaining_problem": True}, "requester"),
    ("root_cause", {"cause": "磁盘老化", "corrective_action": "更换磁盘"}, "service_manager"),
    ("expert_support_followup", {"resolved": True, "method": "onsite", "actions": "更换磁盘"}, "engineer"),
]


# ---------------------------------------------------------------- bare SpiffWorkflow, in memory

def _raw_spec() -> tuple[Any, Any]:
    parser = CamundaParser()
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec("service_desk"), parser.get_subprocess_specs("service_desk")


# The diagram's SLA timers read deadline variables; bare SpiffWorkflow gets them in the start data
# (opsflow computes the same ones from the database policy).
_RAW_SLA = sla.deadline_variables(sla.Policy("III", dt.timedelta(minutes=30), dt.timedelta(hours=48),
                                             dt.timedelta(days=3), 0.8, None, None, dt.timedelta(hours=24)),
                                  dt.datetime.now(dt.UTC))


# The callback's closing timer reads its period (engine.desk.callback gives it to opsflow's instances).
_RAW_CALLBACK = {callback.PERIOD_VARIABLE: callback.iso_duration(callback.close_after())}


def _raw_start(spec: Any, subs: Any) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**REQUEST, **_RAW_SLA, **_RAW_CALLBACK)
    workflow.do_engine_steps()
    return workflow


def _raw_step(workflow: BpmnWorkflow, element_id: str, data: dict[str, Any]) -> None:
    task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == element_id)
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()


def raw_seconds(count: int) -> float:
    spec, subs = _raw_spec()
    started = time.perf_counter()
    for _ in range(count):
        workflow = _raw_start(spec, subs)
        for element_id, data, _user in HAPPY_PATH:
            _raw_step(workflow, element_id, data)
        assert workflow.is_completed()
    return time.perf_counter() - started


def raw_loop_step_ms(turns: int, measured_turns: int) -> float:
    spec, subs = _raw_spec()
    workflow = _raw_start(spec, subs)
    for element_id, data, _user in HAPPY_PATH[:3]:
        _raw_step(workflow, element_id, data)
    # Uncompacted, the callback's closing timer adds a boundary join per turn, and SpiffWorkflow walks up to it
    # by recursion: past ~150 turns that exceeds Python's default limit (opsflow's compaction keeps it shallow).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * turns + 1000))
    try:
        return _time_loop(lambda e, d, _u: _raw_step(workflow, e, d), turns, measured_turns)
    finally:
        sys.setrecursionlimit(limit)


# ---------------------------------------------------------------- through engine/, persisted on SQLite

class Opsflow:
    def __init__(self, directory: Path):
        url = f"sqlite:///{directory / 'bench.db'}"
        schema.upgrade(url)
        self.db = Database(url)
        with self.db.transaction() as session:
            users.ensure_groups(session)
            bootstrap.create_demo_users(session)
            bootstrap.deploy_directory(session, ROOT / "bpmn")
            self.actors = {name: users.actor(session, name) for name in users.GROUPS}
        self.solution_id = self._approved_solution()

    def _approved_solution(self) -> int:
        """The knowledge-base solution every case links before it may close (seed 003)."""
        with self.db.transaction() as session:
            solution = knowledge.create_solution(session, actor=self.actors["engineer"], data={
                "title": "HIS 登录超时", "kind": "solution", "symptom": "登录超时", "fix": "重启应用服务"})
            review = knowledge.submit_for_review(session, solution_id=solution.id, actor=self.actors["engineer"])
            task_id = review.new_tasks[0]["id"]
            knowledge.review_solution(session, task_id=task_id, decision="approve", comment=None,
                                      actor=self.actors["tech_lead"])
            return solution.id

    def link(self, instance: runtime.InstanceRef) -> None:
        with self.db.transaction() as session:
            knowledge.link_solution(session, instance_id=instance.id, solution_id=self.solution_id,
                                    actor=self.actors["engineer"])

    def start(self) -> runtime.InstanceRef:
        with self.db.transaction() as session:
            return runtime.start_instance(session, process_id="service_desk", data=REQUEST,
                                          actor=self.actors["requester"])

    def step(self, previous: runtime.InstanceRef, element_id: str, data: dict[str, Any],
             user: str) -> runtime.InstanceRef:
        """Complete the task `previous` opened at `element_id`, as an agent's form post would."""
        task_id = next(t["id"] for t in previous.new_tasks if t["element_id"] == element_id)
        with self.db.transaction() as session:
            return runtime.complete_task(session, task_id=task_id, data=data, actor=self.actors[user])


def persisted_seconds(opsflow: Opsflow, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        state = opsflow.start()
        opsflow.link(state)  # the engineer links the approved solution; closing needs it
        for element_id, data, user in HAPPY_PATH:
            state = opsflow.step(state, element_id, data, user)
        assert state.status == "completed"
    return time.perf_counter() - started


def opsflow_loop_step_ms(opsflow: Opsflow, turns: int, measured_turns: int) -> float:
    state = opsflow.start()
    for element_id, data, user in HAPPY_PATH[:3]:
        state = opsflow.step(state, element_id, data, user)

    def step(element_id: str, data: dict[str, Any], user: str) -> None:
        nonlocal state
        state = opsflow.step(state, element_id, data, user)

    return _time_loop(step, turns, measured_turns)


def _time_loop(step: Callable[[str, dict[str, Any], str], None], turns: int, measured_turns: int) -> float:
    """Run `turns` loop turns, then time `measured_turns` more; median ms per step."""
    for _ in range(turns):
        for element_id, data, user in LOOP_TURN:
            step(element_id, data, user)
    samples = []
    for _ in range(measured_turns):
        for element_id, data, user in LOOP_TURN:
            began = time.perf_counter()
            step(element_id, data, user)
            samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300, help="persisted service-desk instances")
    parser.add_argument("--raw-instances", type=int, default=1000, help="bare SpiffWorkflow instances")
    parser.add_argument("--measured-turns", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate opsflow and bare runs this many times, so both see the same machine load")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsflow-bench-") as directory:
        opsflow = Opsflow(Path(directory))
        persisted_seconds(opsflow, 20)  # warm-up: caches, SQLite pages
        raw_seconds(50)
        persisted_time = raw_time = 0.0
        for _ in range(args.rounds):
            persisted_time += persisted_seconds(opsflow, args.instances)
            raw_time += raw_seconds(args.raw_instances)
        persisted = args.rounds * args.instances / persisted_time
        raw = args.rounds * args.raw_instances / raw_time
        print(f"service desk, 4 user tasks each: opsflow on SQLite {persisted:.0f}/s, bare SpiffWorkflow "
              f"in memory {raw:.0f}/s, ratio {persisted / raw:.3f}", file=sys.stderr)
        steps = {}
        for turns in (5, 200):
            steps[("opsflow", turns)] = opsflow_loop_step_ms(opsflow, turns, args.measured_turns)
            steps[("raw", turns)] = raw_loop_step_ms(turns, args.measured_turns)
            print(f"one loop step after {turns} turns: opsflow {steps[('opsflow', turns)]:.2f} ms, bare "
                  f"SpiffWorkflow {steps[('raw', turns)]:.2f} ms", file=sys.stderr)
    loop_ratio = steps[("opsflow", 200)] / steps[("opsflow", 5)]
    raw_loop_ratio = steps[("raw", 200)] / steps[("raw", 5)]
    print(f"RESULT persisted_per_s={persisted:.1f} raw_per_s={raw:.1f} ratio={persisted / raw:.3f} "
          f"loop_step_ratio={loop_ratio:.2f} raw_loop_step_ratio={raw_loop_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
