"""The GPU plan cannot waste a lease: every step leaves its result file, whatever happens to it.

The plan itself runs end to end in ``make gpu-rehearsal`` (an environment
that mirrors the GPU machine's, called by ``.ci/run``). Here: the plan's
bookkeeping with stand-in steps that succeed, crash, hang and never get
their turn, and the bundle's arithmetic (what the image has is not carried).
No time is asserted beyond the plan's own budget.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.gpu_bundle import canonical, carried, image_packages
from benchmarks.gpu_plan import MIN_STEP_SECONDS, STEPS, Config, Plan, Step

WRITES = "import json, sys; json.dump({'status': 'ok', 'rows': [1]}, open(sys.argv[sys.argv.index('--json-out') + 1], 'w'))"


def _python(code: str):
    return lambda config, budget: [sys.executable, "-c", code]


def test_every_step_leaves_its_result_file(tmp_path: Path) -> None:
    steps = (
        Step("a-measures", 20, _python(WRITES + "; print('| table |')")),
        Step("b-crashes", 20, _python("import sys; print('boom', file=sys.stderr); sys.exit(3)")),
        Step("c-hangs", 2 * MIN_STEP_SECONDS, _python(WRITES + "; import time; time.sleep(60)")),
        Step("d-no-time-left", 20, _python(WRITES)),
    )
    plan = Plan(Config("cpu", True, tmp_path), budget=2 * MIN_STEP_SECONDS + 3, preload=("json",))  # nothing left after c
    failed = plan.run(steps)

    assert failed == ["b-crashes", "c-hangs", "d-no-time-left"]
    outcome = {s.name: json.loads((tmp_path / f"{s.name}.json").read_text())["plan"] for s in steps}
    assert [outcome[s.name]["outcome"] for s in steps] == ["ok", "failed", "timeout", "skipped"]
    assert outcome["b-crashes"]["rc"] == 3 and "boom" in outcome["b-crashes"]["stderr_tail"]
    # What a step measured before it was killed is kept.
    assert json.loads((tmp_path / "c-hangs.json").read_text())["rows"] == [1]
    log = (tmp_path / "plan.log").read_text()
    assert "| table |" in log and "c-hangs: timeout" in log and "d-no-time-left: skipped" in log
    assert outcome["c-hangs"]["seconds"] < 2 * MIN_STEP_SECONDS + 5  # killed at its budget, not after its sleep
    assert len(list(tmp_path.iterdir())) <= 8  # the device tool brings back eight files


def test_the_real_plan_fits_what_comes_back() -> None:
    assert len(STEPS) + 2 <= 8  # a JSON per step, plan.log and stderr.log
    assert sum(s.seconds for s in STEPS if not s.takes_rest) < 280 - MIN_STEP_SECONDS
    assert [s.name for s in STEPS][0] == "1-bert-base"  # the headline first


def test_the_bundle_carries_only_what_the_image_lacks() -> None:
    image = image_packages()
    assert image["transformers"] == "5.17.0" and image["anyio"] is None and "fastapi" not in image
    resolved = {"fastapi": "0.165.0", "anyio": "4.16.0", "opentelemetry-api": "1.45.2", "typing-extensions": "4.16.0"}
    assert carried(resolved, image) == {"fastapi": "0.165.0", "opentelemetry-api": "1.45.2"}
    assert canonical("Typing_Extensions") == "typing-extensions"
