"""House rules that keep the layers apart and the schema honest."""
from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.store.db import make_engine
from engine.store.knowledge_models import modelled
from engine.store.models import Base
from engine.store.schema import alembic_config

ROOT = Path(__file__).resolve().parent.parent


def _modules(path: Path) -> set[str]:
    """Every module a file imports, by its full name (`from engine import desk` gives engine.desk too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def _layer_offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        found = sorted(name for name in _modules(path)
                       if any(name == layer or name.startswith(layer + ".") for layer in forbidden))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    return offenders


def test_the_process_core_never_imports_the_desk_or_the_audit() -> None:
    """The desk acts on the core through its hooks (engine.process.hooks); the audit reads the core."""
    assert _layer_offenders("engine/process", ("engine.desk", "engine.audit")) == {}


def test_the_store_imports_neither_the_process_core_nor_the_desk() -> None:
    assert _layer_offenders("engine/store", ("engine.process", "engine.desk", "engine.audit")) == {}


def test_engine_and_forms_never_import_flask_or_the_web_layer() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & {"flask", "app", "flask_login", "flask_wtf"})
                 for package in ("engine", "forms") for p in (ROOT / package).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_engine_imports_spiffworkflow() -> None:
    users = [str(p.relative_to(ROOT)) for package in ("app", "forms") for p in (ROOT / package).rglob("*.py")
             if "SpiffWorkflow" in _imports(p)]
    assert users == []


def test_the_step_path_has_no_database_and_the_audit_steps_through_it_not_the_runtime() -> None:
    step = _modules(ROOT / "engine" / "process" / "step.py")
    assert {m for m in step if m.split(".")[0] == "sqlalchemy" or m.startswith("engine.store")} == set()
    audit = _modules(ROOT / "engine" / "audit" / "verification.py")
    assert "engine.process.step" in audit and "engine.process.runtime" not in audit


def test_migrations_have_one_head_and_downgrades(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        source = Path(revision.path).read_text(encoding="utf-8")
        assert "def downgrade" in source and "\n    pass\n" not in source.split("def downgrade")[1]


def test_models_match_the_migrations(sqlite_template: Path) -> None:
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as connection:
        # SQLite's full-text index (a virtual table and its shadow tables) is the one thing models cannot describe.
        opts = {"compare_type": True, "include_name": modelled}
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []
