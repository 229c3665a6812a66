"""The restricted evaluator every diagram expression goes through (conditions, scripts, timers).

SpiffWorkflow evaluates expressions with plain `eval`/`exec`; a diagram is untrusted input, so
we replace its script environment. Two layers: a static whitelist over the syntax tree (used at
deploy time to name the element at fault, and again before each evaluation), and simpleeval
for the evaluation itself (no imports, no attributes, no dunders, bounded strings and powers).
"""
from __future__ import annotations

import ast
import datetime as _dt
import re
import threading
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any

import simpleeval
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ExpressionRefused

MAX_EXPRESSION_LENGTH = 2000

SAFE_FUNCTIONS: dict[str, Any] = {
    "len": len, "str": str, "int": int, "float": float, "bool": bool, "abs": abs,
    "min": min, "max": max, "round": round, "sum": sum, "any": any, "all": all, "sorted": sorted,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Module, ast.Expr, ast.Assign, ast.AugAssign,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Name, ast.Load, ast.Store, ast.Constant,
    ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Subscript, ast.Slice,
    ast.JoinedStr, ast.FormattedValue, ast.Call,
)


# ISO 8601 timer values other modelers write without quotes: PT2H, R3/PT10M, 2026-12-01T10:00:00Z ...
# Python would read PT2H as an (unset) name and cannot parse the others.
_BARE_ISO = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.,]*\d[0-9YMWDTHS.,]*$|^R\d*/\S+$|^\d{4}-\d{2}-\d{2}", re.IGNORECASE)


def timer_literal(source: str | None) -> str | None:
    """The ISO 8601 text a timer expression stands for when it is written without quotes, else None
    (then it is a Python expression like any other)."""
    text = (source or "").strip()
    return text if _BARE_ISO.match(text) else None


def check(source: str, *, mode: str = "eval") -> ast.AST:
    """Parse `source` and refuse anything outside the whitelist; returns the tree.

    `mode` is "eval" for conditions and timers, "exec" for script tasks (assignments only).
    """
    if source is None or not str(source).strip():
        raise ExpressionRefused("empty expression", reason="expression_empty")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionRefused(f"expression longer than {MAX_EXPRESSION_LENGTH} characters",
                                reason="expression_too_long", params={"limit": MAX_EXPRESSION_LENGTH})
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        raise ExpressionRefused(f"expression does not parse: {exc.msg} in {source!r}", reason="expression_syntax",
                                params={"detail": exc.msg, "source": source}) from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionRefused(f"{type(node).__name__} is not allowed in an expression: {source!r}",
                                    reason="expression_syntax_not_allowed",
                                    params={"node": type(node).__name__, "source": source})
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionRefused(f"names starting with '_' are not allowed: {node.id!r} in {source!r}",
                                    reason="expression_underscore_name", params={"name": node.id, "source": source})
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            raise ExpressionRefused(f"strings containing '__' are not allowed in {source!r}",
                                    reason="expression_dunder_string", params={"source": source})
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise ExpressionRefused(f"function {name!r} is not allowed (allowed: "
                                        f"{', '.join(sorted(SAFE_FUNCTIONS))}) in {source!r}",
                                        reason="expression_function",
                                        params={"name": name, "allowed": sorted(SAFE_FUNCTIONS), "source": source})
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                raise ExpressionRefused(f"only plain names can be assigned in {source!r}",
                                        reason="expression_assign_target", params={"source": source})
        if mode == "exec" and isinstance(node, ast.Module):
            for stmt in node.body:
                if not isinstance(stmt, ast.Assign | ast.AugAssign | ast.Expr):
                    raise ExpressionRefused(f"{type(stmt).__name__} is not allowed in a script: {source!r}",
                                            reason="expression_statement",
                                            params={"node": type(stmt).__name__, "source": source})
    return tree


@lru_cache(maxsize=4096)
def _checked(source: str, mode: str) -> ast.AST:
    return check(source, mode=mode)


class _Evaluator(threading.local):
    def __init__(self) -> None:
        self.evaluator = simpleeval.EvalWithCompoundTypes(functions=dict(SAFE_FUNCTIONS))


_local = _Evaluator()


def _json_safe(value: Any) -> Any:
    return value.isoformat() if isinstance(value, _dt.date | _dt.datetime) else value


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate an expression over `names`; an unknown name reads as None (an unset optional field)."""
    tree = _checked(source.strip(), "eval")
    evaluator = _local.evaluator
    evaluator.names = lambda node: names.get(node.id)
    try:
        return evaluator.eval(source, previously_parsed=tree.body)  # type: ignore[attr-defined]
    except simpleeval.InvalidExpression as exc:
        raise ExpressionRefused(f"expression refused: {exc}") from None


def execute(source: str, names: MutableMapping[str, Any]) -> None:
    """Run a script of assignments, writing results into `names`."""
    tree = _checked(source.strip(), "exec")
    assert isinstance(tree, ast.Module)
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr):
            evaluate(ast.unparse(stmt.value), names)
        elif isinstance(stmt, ast.Assign):
            value = evaluate(ast.unparse(stmt.value), names)
            for target in stmt.targets:
                assert isinstance(target, ast.Name)  # check() allows nothing else
                names[target.id] = _json_safe(value)
        elif isinstance(stmt, ast.AugAssign):
            assert isinstance(stmt.target, ast.Name)
            name = stmt.target.id
            expr = ast.unparse(ast.BinOp(left=ast.Name(name, ast.Load()), op=stmt.op, right=stmt.value))
            names[name] = _json_safe(evaluate(expr, names))


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that only runs whitelisted expressions."""

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        names = {**(external_context or {}), **context}
        return evaluate(expression, names)

    def execute(self, script: str, context: MutableMapping[str, Any], external_context: Any = None) -> bool:
        execute(script, context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ExpressionRefused("service tasks are not supported")


class RestrictedScriptEngine(PythonScriptEngine):
    """Script engine whose refusals surface as ExpressionRefused, not as a generic task error."""

    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression: str) -> None:
        check(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        # Instance variables (e.g. SLA deadlines in the workflow's own data) are visible to every
        # expression; a task's data wins on a name clash.
        instance_variables = task.workflow.top_workflow.data if task is not None else {}
        context = {**instance_variables, **(external_context or {})} if instance_variables else external_context
        return super().evaluate(task, expression, context)


SCRIPT_ENGINE = RestrictedScriptEngine()
