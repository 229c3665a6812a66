"""Landing page listing the deployed processes, and a health check for load balancers."""
from __future__ import annotations

from flask import current_app, jsonify, render_template_string
from sqlalchemy import text

from app import database
from app.main import bp
from engine import definitions

_INDEX = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>opsflow</title>
<h1>opsflow 运维服务流程</h1>
<p>已部署流程 / Deployed processes:</p>
<ul>{% for d in processes %}<li>{{ d.process_id }} — v{{ d.newest_version }}</li>{% endfor %}</ul>
<p>请用 <code>flask opsflow</code> 命令办理任务（见 README）。</p>
<p>Work tasks with the <code>flask opsflow</code> CLI (see the README).</p>
</html>"""


@bp.get("/")
def index() -> str:
    with database(current_app).transaction() as session:
        processes = definitions.list_definitions(session)
    return render_template_string(_INDEX, processes=processes)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    with database(current_app).transaction() as session:
        session.execute(text("select 1"))
    return jsonify(status="ok")
