"""`flask opsflow validate | deploy | versions | diff | rollback`: check diagrams, deploy them, manage versions.

`validate` needs no database: it runs the checks deploy runs and prints one line per problem.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from app.cli.common import _db, _emit, _fail_cleanly
from engine.errors import Problem
from engine.process import definitions, versions

_DIAGRAM_SUFFIXES = (".bpmn", ".bpmn20.xml", ".bpmn2")


def _diagram_paths(paths: tuple[Path, ...]) -> list[Path]:
    """The files given, with a directory standing for the diagrams in it."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(_DIAGRAM_SUFFIXES))
        else:
            found.append(path)
    return found


def _read(path: Path) -> tuple[definitions.SourceFile | None, Problem | None]:
    """The file's bytes, unless it is too large to read (checked before reading, not after)."""
    size = path.stat().st_size
    if size > definitions.MAX_FILE_BYTES:
        return None, Problem(None, f"file is {size} bytes; the limit is {definitions.MAX_FILE_BYTES} bytes", str(path))
    return definitions.SourceFile(str(path), path.read_bytes()), None


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--process", "process_id", help="Check only this executable process (default: every one).")
@click.option("--json", "as_json", is_flag=True)
@_fail_cleanly
def validate_command(paths: tuple[Path, ...], process_id: str | None, as_json: bool) -> None:
    """Check BPMN files as deploy would; exit 1 if any has a problem (warnings go to stderr).

    The files are checked together, so a call activity may call a process in another file given.
    A directory stands for the .bpmn files in it.
    """
    files = _diagram_paths(paths)
    sources, problems = [], []
    for path in files:
        source, problem = _read(path)
        if source is not None:
            sources.append(source)
        if problem is not None:
            problems.append(problem)
    if sources:
        problems += definitions.validate(sources, process_id=process_id)
    elif not problems:
        problems.append(Problem(None, "no BPMN files (.bpmn, .bpmn20.xml) found", ", ".join(map(str, paths))))
    result = {"valid": not problems, "files": [str(p) for p in files], "problems": [p.to_dict() for p in problems]}
    _emit(result, as_json, _validation_text)
    for warning in definitions.warnings(sources, process_id=process_id) if sources else []:
        click.echo(f"warning: {warning}", err=True)  # allowed, but worth a look; the exit code stays
    if problems:
        click.get_current_context().exit(1)


def _validation_text(result: dict[str, Any]) -> str:
    if result["valid"]:
        return "\n".join(f"{name}: ok" for name in result["files"])
    return "\n".join(str(Problem(p["element_id"], p["message"], p["filename"])) for p in result["problems"])


@click.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--process", "process_id", help="Executable process to deploy when the first file has several.")
@click.option("--comment", help="Why this version exists.")
@click.option("--user", default="cli", show_default=True, help="Recorded as the deployer.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def deploy_command(paths: tuple[Path, ...], process_id: str | None, comment: str | None, user: str,
                   as_json: bool) -> None:
    """Deploy a BPMN file (plus files of called processes) as the next version."""
    sources = [definitions.SourceFile(p.name, p.read_bytes()) for p in paths]
    with _db().transaction() as session:
        result = definitions.deploy(session, sources, user=user, comment=comment, process_id=process_id)
    _emit({"definition_id": result.definition_id, "process_id": result.process_id, "version": result.version},
          as_json, lambda d: f"deployed {d['process_id']} version {d['version']}")


@click.command("versions")
@click.argument("process_id")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def versions_command(process_id: str, as_json: bool) -> None:
    """Every deployed version of a process, newest first, with the instances still running on each."""
    with _db().transaction() as session:
        rows = versions.versions(session, process_id)
    _emit(rows, as_json, _versions_text)


def _versions_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'VERSION':>7}  {'DEPLOYED AT':<19}  {'BY':<16} {'RUNNING':>7}  COMMENT"]
    for r in rows:
        lines.append(f"{r['version']:>7}  {r['deployed_at'][:19]:<19}  {r['deployed_by'] or '-':<16} "
                     f"{r['running_instances']:>7}  {r['comment'] or ''}".rstrip())
    return "\n".join(lines)


@click.command("diff")
@click.argument("process_id")
@click.argument("from_version", type=click.IntRange(min=1))
@click.argument("to_version", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def diff_command(process_id: str, from_version: int, to_version: int, as_json: bool) -> None:
    """Elements added, removed and changed between two versions of a process."""
    with _db().transaction() as session:
        result = versions.diff(session, process_id, from_version, to_version)
    _emit(result, as_json, _diff_text)


def _diff_text(result: dict[str, Any]) -> str:
    lines = [f"{result['process_id']}: version {result['from_version']} -> {result['to_version']}"]
    lines += [f"+ {e['id']} ({e['type']}) {e['name'] or ''}".rstrip() for e in result["added"]]
    lines += [f"- {e['id']} ({e['type']}) {e['name'] or ''}".rstrip() for e in result["removed"]]
    for element in result["changed"]:
        lines.append(f"~ {element['id']} ({element['type']}) {element['name'] or ''}".rstrip())
        lines += [f"    {c['field']}: {c['from']!r} -> {c['to']!r}" for c in element["changes"]]
    lines.append(f"{len(result['added'])} added, {len(result['removed'])} removed, {len(result['changed'])} changed, "
                 f"{result['unchanged']} unchanged")
    return "\n".join(lines)


@click.command("rollback")
@click.argument("process_id")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--comment", help="Why; recorded after 'rollback to version N'.")
@click.option("--user", default="cli", show_default=True, help="Recorded as the deployer.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def rollback_command(process_id: str, version: int, comment: str | None, user: str, as_json: bool) -> None:
    """Deploy an old version's XML again as the newest version; running instances stay where they are."""
    with _db().transaction() as session:
        result = versions.rollback(session, process_id, version, user=user, comment=comment)
    _emit({"definition_id": result.definition_id, "process_id": result.process_id, "version": result.version,
           "rolled_back_to": version}, as_json,
          lambda d: f"deployed {d['process_id']} version {d['version']} (the XML of version {d['rolled_back_to']})")
