"""`flask opsflow audit …`: the auditors' checks from the shell — verify histories, export them.

Both commands only read instances; each instance they touch is logged in access_log under --user.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from app.cli.common import CommandLineError, _db, _emit, _fail_cleanly
from engine.audit import verification as audit


@click.group("audit")
def audit_group() -> None:
    """Auditors: verify instance histories (hash chain and re-execution), export them."""


@audit_group.command("verify")
@click.argument("instance_ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "verify_all", is_flag=True, help="Every instance (with a progress bar on stderr).")
@click.option("--json", "as_json", is_flag=True, help="One JSON report: ok, counts and every instance's verdict.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the access log as the auditor.")
@with_appcontext
@_fail_cleanly
def verify_command(instance_ids: tuple[int, ...], verify_all: bool, as_json: bool, user: str) -> None:
    """Check each instance's hash chain and re-execute it from its definition version and recorded inputs.

    Reports the first divergence of each instance (event seq, expected, found); exits with status 1
    when any instance diverges.
    """
    if bool(instance_ids) == verify_all:
        raise CommandLineError("give instance ids or --all")
    with _db().transaction() as session:
        if verify_all:
            total = audit.count_instances(session)
            with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
                verdicts = audit.verify_all(session, actor=user, progress=lambda _verdict: bar.update(1))
        else:
            verdicts = audit.verify_instances(session, instance_ids, actor=user)
    failed = [v for v in verdicts if not v.ok]
    report = {"ok": not failed, "instances": len(verdicts), "events": sum(v.events_checked for v in verdicts),
              "divergences": len(failed), "verdicts": [v.to_dict() for v in verdicts]}
    _emit(report, as_json, lambda r: _verify_text(r, only_failures=verify_all))
    if failed:
        sys.exit(1)


def _verify_text(report: dict[str, Any], *, only_failures: bool) -> str:
    lines = []
    for verdict in report["verdicts"]:
        first = verdict["first_divergence"]
        if first is None:
            if not only_failures:
                lines.append(f"instance {verdict['instance_id']}: ok ({verdict['events_checked']} events)")
            continue
        where = f"seq {first['seq']} ({first['kind'] or '-'})" if first["seq"] is not None else "final state"
        lines.append(f"instance {verdict['instance_id']}: DIVERGES at {where} [{first['check']}]: "
                     f"{first['message']}")
        lines.append(f"  expected: {audit.abbreviate(first['expected'])}")
        lines.append(f"  found:    {audit.abbreviate(first['found'])}")
    count, failed = report["instances"], report["divergences"]
    lines.append(f"{count} instance{'' if count == 1 else 's'}, {report['events']} events verified: "
                 + (f"{failed} with divergences" if failed else "all consistent"))
    return "\n".join(lines)


@audit_group.command("export")
@click.argument("instance_id", type=click.IntRange(min=1))
@click.option("--format", "fmt", type=click.Choice(audit.EXPORT_FORMATS), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the access log as the auditor.")
@with_appcontext
@_fail_cleanly
def export_command(instance_id: int, fmt: str, output: Path | None, user: str) -> None:
    """An instance's full history with every hash (JSON or CSV), for checking outside opsflow."""
    with _db().transaction() as session:
        document = audit.history_export(session, instance_id, fmt=fmt, actor=user)
    if output is None:
        click.echo(document, nl=not document.endswith("\n"))
    else:
        # A CSV file gets a byte-order mark, so Excel on Chinese Windows reads it as UTF-8.
        output.write_text(document, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"history of instance {instance_id} written to {output}", err=True)
