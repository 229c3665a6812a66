"""tools/bpmn_build.py and bpmn/ cannot drift apart: the tool regenerates every bundled diagram byte for byte."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tool_regenerates_bpmn_exactly(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools" / "bpmn_build.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    bundled = {p.name: p.read_bytes() for p in (ROOT / "bpmn").glob("*.bpmn")}
    generated = {p.name: p.read_bytes() for p in tmp_path.glob("*.bpmn")}
    assert sorted(generated) == sorted(bundled)
    drifted = sorted(name for name in bundled if generated[name] != bundled[name])
    assert drifted == [], (f"bpmn/{', bpmn/'.join(drifted)} differ from tools/bpmn_build.py: change the description "
                           "in the tool and run `python tools/bpmn_build.py --overwrite`")
