"""bpmn-js's own texts (palette, context pad, replace menu) come in the page's language: the modeler pages carry
a dictionary for bpmn-js's `translate` service, and it covers every text the installed bpmn-js words."""
from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from app.modeler.bpmn_texts import TEXTS
from config import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
LIBRARIES = [ROOT / "node_modules" / "bpmn-js" / "lib", ROOT / "node_modules" / "diagram-js" / "lib"]
REPLACE_LABELS = [ROOT / "node_modules" / "bpmn-js" / "lib" / "features" / "popup-menu" / "PopupEntries.js",
                  ROOT / "node_modules" / "bpmn-js" / "lib" / "features" / "replace" / "ReplaceOptions.js"]
# bpmn-js builds these from parts (`'Align elements ' + alignment`) or keeps them in constants.
BUILT = {*(f"Align elements {side}" for side in ("left", "center", "right", "top", "middle", "bottom")),
         "Empty pool/participant (removes content)", "flow elements must be children of pools/participants",
         "Data object must be placed within a pool/participant."}
NOT_UI = {"HELLO {you}"}  # an example in diagram-js's own documentation of translate


def bpmn_js_texts_in_the_library() -> set[str]:
    found = set(BUILT)
    for library in LIBRARIES:
        for path in library.rglob("*.js"):
            found.update(re.findall(r"(?<!')translate\(\s*'([^']+)'\s*[,)]", path.read_text(encoding="utf-8")))
    for path in REPLACE_LABELS:
        code = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                         if not line.lstrip().startswith(("//", "*")))
        found.update(re.findall(r"label: '([^']+)'", code))
    return found - NOT_UI


def page_texts(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="bpmn-js-texts">(.*?)</script>', page, re.S)
    assert found, "no bpmn-js dictionary on the page"
    return json.loads(found[1])


def test_the_dictionary_covers_every_text_of_the_installed_bpmn_js() -> None:
    in_library = bpmn_js_texts_in_the_library()
    assert len(in_library) > 100 and "Create task" in in_library and "User task" in in_library
    assert sorted(in_library - set(TEXTS)) == []
    assert sorted(set(TEXTS) - in_library) == [], "texts bpmn-js no longer has"


@pytest.mark.parametrize("path", ["/modeler/service_desk", "/modeler/new", "/modeler/service_desk/diff?from=1&to=2"])
def test_chinese_pages_carry_the_chinese_dictionary(client_for: Callable[[str], FlaskClient], path: str) -> None:
    owner = client_for("process_owner")
    xml = owner.get("/modeler/service_desk/xml").get_json()["xml"].replace("派发现场服务单", "派发现场")
    assert owner.post("/modeler/service_desk/deploy", json={"xml": xml, "comment": "改名"}).status_code == 200
    texts = page_texts(owner.get(path).text)
    assert set(texts) == set(TEXTS)
    assert texts["Create task"] == "创建任务" and texts["Append end event"] == "追加结束事件"
    assert texts["User task"] == "用户任务" and texts["Open {element}"] == "打开 {element}"
    assert [english for english, chinese in texts.items() if not CJK.search(chinese)] == []


def test_english_pages_leave_bpmn_js_in_english(client_for: Callable[[str], FlaskClient]) -> None:
    owner = client_for("process_owner")
    owner.post("/locale", data={"locale": "en"})
    assert page_texts(owner.get("/modeler/service_desk").text) == {}
