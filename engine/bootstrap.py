"""First-run set-up shared by the run command and tests: groups, bundled diagrams, demo users."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import users
from engine.process import definitions
from engine.store.models import User

DEMO_PASSWORD = "opsflow-demo"


def deploy_directory(session: Session, directory: Path, *, user: str | None = None) -> list[definitions.DeployResult]:
    """Deploy every .bpmn file of a directory, skipping files identical to their newest version."""
    results = []
    for path in sorted(directory.glob("*.bpmn")):
        source = definitions.SourceFile(path.name, path.read_bytes())
        results.append(definitions.deploy(session, [source], user=user, comment=f"bundled {path.name}",
                                          skip_unchanged=True))
    return results


def create_demo_users(session: Session) -> list[str]:
    """One demo user per group, named after the group, with DEMO_PASSWORD; returns those created."""
    existing = set(session.scalars(select(User.username)))
    created = []
    for group_id, (zh, _en) in users.GROUPS.items():
        if group_id not in existing:
            users.create_user(session, username=group_id, password=DEMO_PASSWORD, groups=[group_id],
                              display_name=f"{zh} (demo)")
            created.append(group_id)
    return created
