"""The /reports dashboard in Chromium: ECharts (from node_modules) draws every chart, a click on a bar opens the
cases behind it, and a screenshot is kept in tests/e2e/artifacts/."""
from __future__ import annotations

from typing import Any

from engine import clock
from engine.desk import kpi
from engine.store.db import Database
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_modeler_journey import Person
from tests.support.flows import REQUEST, Flow

CHARTS = ("chart-trend", "chart-sla", "chart-satisfaction", "chart-breakdown", "chart-backlog")
# Pixels of a chart's canvas that are not blank: ECharts drew something.
INKED = """(id) => {
  const canvas = document.querySelector('#' + id + ' canvas');
  if (!canvas) return -1;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
  return inked;
}"""


def _cases(db: Database) -> None:
    with clock.frozen(clock.now()):
        for zone, score in (("东区", 5), ("西区", 3), ("东区", None)):
            flow = Flow(db, "service_desk", {**REQUEST, "zone": zone})
            flow.complete("accept", {"request_confirmed": True}, "service_desk")
            flow.complete("classify", {"category": "fault", "fault_level": "II"}, "service_desk")
            if score:
                flow.complete("remote_fix", {"resolved": True, "method": "remote", "actions": "远程重启"}, "engineer")
                flow.allow_closing()
                flow.complete("satisfaction", {"score": score, "remaining_problem": False}, "requester")


def test_the_dashboard_draws_its_charts_and_drills_down(browser: Any, server: str,
                                                        server_database: Database) -> None:
    _cases(server_database)
    manager = Person(browser, server, "service_manager")
    problems: list[str] = []
    manager.page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        manager.page.goto(f"{server}/reports/?dimension=zone")
        for chart in CHARTS:
            manager.page.wait_for_selector(f"#{chart}[data-rendered=yes] canvas")
        inked = {chart: manager.page.evaluate(INKED, chart) for chart in CHARTS}
        manager.shot("reports-dashboard")
        assert problems == []
        assert all(count > 500 for count in inked.values()), inked
        assert (ARTIFACTS / "reports-dashboard.png").stat().st_size > 10_000
        # The zone chart's first bar (东区, 2 cases): a click lists those cases.
        bars = manager.page.locator("#chart-breakdown canvas")
        bars.scroll_into_view_if_needed()
        box = bars.bounding_box()
        assert box is not None
        with manager.page.expect_navigation():
            manager.page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.75)
        assert "/reports/cases" in manager.page.url and "value=" in manager.page.url
        assert manager.page.locator("tr[data-case]").count() == 2
        manager.shot("reports-drill-down")
    finally:
        manager.close()
    assert kpi.DIMENSIONS  # the page's dimension selector offers kpi's attributes
