"""Every workflow state the branch tests save is checked against SpiffWorkflow's own serialization.

engine.process.persistence writes task fragments itself and reuses unchanged ones between steps; driving
every branch of every diagram through that path is the widest check that nothing stale or
differently shaped is ever saved.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from engine.process import persistence


@pytest.fixture(autouse=True)
def saved_states_match_spiffworkflow(monkeypatch: pytest.MonkeyPatch) -> None:
    real_dump = persistence.dump

    def dump(workflow: Any, fragments: Any = None) -> str:
        state = real_dump(workflow, fragments)
        saved = json.loads(state)["tasks"]
        reference = {str(task_id): json.loads(persistence.spiff_task_fragment(task))
                     for task_id, task in workflow.tasks.items()}
        stale = sorted(task_id for task_id in reference if saved.get(task_id) != reference[task_id])
        assert not stale and saved.keys() == reference.keys(), f"saved tasks differ from a full save: {stale}"
        return state

    monkeypatch.setattr(persistence, "dump", dump)
