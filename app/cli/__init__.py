"""`flask opsflow …`: drive opsflow from the shell, one module per area, every command listed here.

Each command is one unit of work. Errors print one line on stderr and exit 1 (2 for bad
command-line input). `--json` output is documented in docs/cli-json.md and kept stable.
"""
from __future__ import annotations

import click

from app.cli import admin, audit, definitions, parts, reports, timers, tokens, work


@click.group("opsflow")
def opsflow() -> None:
    """opsflow: IT-operations processes on BPMN."""


for _command in (
    admin.migrate_command, admin.setup_command, admin.create_user_command,
    definitions.validate_command, definitions.deploy_command, definitions.versions_command,
    definitions.diff_command, definitions.rollback_command,
    work.start_command, work.tasks_command, work.claim_command, work.release_command, work.assign_command,
    work.complete_command, work.show_command,
    timers.scheduler_command, timers.serve_command, timers.sla_group, timers.set_level_command,
    timers.health_check_schedule_command,
    audit.audit_group,
    tokens.api_token_group,
    parts.parts_group,
    reports.report_schedule_command, reports.report_new_command,
):
    opsflow.add_command(_command)
