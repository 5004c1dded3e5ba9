"""``make gpu-rehearsal``: the GPU plan run here, in an environment that mirrors the GPU machine's.

A plan that passes in the project's own virtualenv proves little about a
machine with other versions, missing packages and a time limit: the first
lease lost its minutes to exactly those. So this:

1. creates ``.gpu-rehearsal/venv`` with only the GPU image's packages that
   the plan imports, at the image's versions (``benchmarks/gpu_image.txt``),
   the CPU torch pin standing in for the CUDA build; FastAPI, uvicorn,
   pydantic and OpenTelemetry are not there, as on the image;
2. builds the bundle for this interpreter with ``benchmarks.gpu_bundle``
   (resolved by pip, the image's packages subtracted), and resolves and
   downloads the Python 3.12 bundle the lease will carry, checking both
   sizes;
3. checks the bundle is what makes the server importable: without one of
   its dependencies the import check must fail, with all of it it must pass
   (a check that cannot fail would prove nothing);
4. runs ``benchmarks/gpu.sh`` on the CPU with tiny sizes, under the same
   per-step budgets, exactly as the lease runs it (bundle installed with
   ``pip --target``, no ``../shared/data``), and fails on a crash, an import
   error, a step without its ``ok`` result file, more files than come back,
   or the plan running over its budget.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".gpu-rehearsal"
VENV = WORK / "venv"
#: The image's packages that the plan imports (directly or through zeroclass and
#: transformers), installed at the image's versions where gpu_image.txt gives one.
PLAN_IMPORTS = ("transformers", "tokenizers", "huggingface-hub", "sentence-transformers", "onnx", "onnxruntime",
                "numpy", "httpx", "rich", "matplotlib", "scipy", "threadpoolctl", "tqdm", "safetensors", "prometheus-client")
#: Image versions with no wheel for this interpreter (3.11): the newest that has one stands in.
NO_LOCAL_WHEEL = {"numpy"}
#: Must be absent from the mirror, as from the image: the bundle has to bring them.
ABSENT = ("fastapi", "uvicorn", "pydantic", "starlette", "opentelemetry-api")
#: What the lease runs the plan with, seconds; the rehearsal allows this much on top for start-up.
PLAN_BUDGET, SLACK = 280.0, 40.0
#: The device tool brings back at most this many files from $OUT.
MAX_FILES = 8
SERVER_IMPORT = "import zeroclass.server.app, uvicorn, fastapi_offline; print('server stack imports')"


def step(message: str) -> None:
    print(f"== gpu-rehearsal: {message}", flush=True)


def python() -> Path:
    return VENV / "bin" / "python"


def requirements() -> list[str]:
    from benchmarks.gpu_bundle import canonical, image_packages

    image = image_packages()
    missing = [name for name in PLAN_IMPORTS if canonical(name) not in image]
    assert not missing, f"not on the GPU image, so the plan must not import them: {missing}"
    pins = [f"{name}=={image[canonical(name)]}" if image[canonical(name)] and name not in NO_LOCAL_WHEEL else name
            for name in PLAN_IMPORTS]
    return ["torch==2.13.0", *pins]


def make_venv(carried: list[str]) -> None:
    """The mirror environment, made once per requirement list (a stamp records it), less
    every package the bundle carries: what the image lacks, the mirror must lack too."""
    wanted = requirements()
    stamp = VENV / "rehearsal-requirements.txt"
    if stamp.is_file() and stamp.read_text(encoding="utf-8").split() == wanted:
        step(f"environment {VENV} is current")
    else:
        step(f"creating {VENV}: {' '.join(wanted)}")
        shutil.rmtree(VENV, ignore_errors=True)
        venv.create(VENV, with_pip=True)
        subprocess.run([python(), "-m", "pip", "install", "-q", "-c", REPO / "constraints.txt", *wanted], check=True)
        stamp.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    from benchmarks.gpu_bundle import canonical, image_packages

    def installed() -> set[str]:
        listing = subprocess.run([python(), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True)
        return {canonical(p["name"]) for p in json.loads(listing.stdout)}

    # A newer typer than the image's pulls in pydantic, for one; the image has typer without it.
    extra = sorted(installed() & {canonical(n) for n in (*ABSENT, *carried)})
    if extra:
        step(f"removing what the image lacks: {' '.join(extra)}")
        subprocess.run([python(), "-m", "pip", "uninstall", "-q", "-y", *extra], check=True)
    names = installed()
    intruders = [n for n in ABSENT if n in names]
    assert not intruders, f"the mirror environment has {intruders}, which the GPU image lacks"
    unlisted = sorted(names - set(image_packages()) - {"pip", "setuptools", "wheel"})
    if unlisted:
        step(f"note: in the mirror but not in the image's listing (pulled in by the pins): {' '.join(unlisted)}")


def build_bundles() -> tuple[Path, list[str]]:
    """The local-interpreter bundle (installed below) and the lease's 3.12 one (size checked);
    returns the first and the names it carries."""
    bundle = WORK / "bundle"
    for version, out in (("local", bundle), ("3.12", WORK / "bundle-3.12")):
        step(f"bundle for Python {version}")
        subprocess.run([sys.executable, "-m", "benchmarks.gpu_bundle", "--python-version", version, "--out", out],
                       check=True, cwd=REPO)
    carried = [line.split("==")[0] for line in (bundle / "carried.txt").read_text(encoding="utf-8").split()]
    return bundle, carried


def imports_server(wheels: list[Path]) -> subprocess.CompletedProcess[str]:
    """The server import check in the mirror, with ``wheels`` installed as gpu.sh installs them."""
    with tempfile.TemporaryDirectory() as site:
        subprocess.run([python(), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--target", site,
                        *map(str, wheels)], check=True)
        env = os.environ | {"PYTHONPATH": f"{REPO}:{site}"}
        return subprocess.run([python(), "-c", SERVER_IMPORT], capture_output=True, text=True, env=env, cwd=REPO)


def check_bundle_is_needed(bundle: Path) -> None:
    """Without one dependency the server must not import; with the whole bundle it must."""
    wheels = sorted((bundle / "wheels").glob("*.whl"))
    roots = {"fastapi", "fastapi_offline", "uvicorn"}
    dependency = next(w for w in wheels if w.name.split("-")[0].lower() not in roots)
    step(f"negative control: the bundle without {dependency.name}")
    partial = imports_server([w for w in wheels if w != dependency])
    assert partial.returncode != 0, f"the server imported without {dependency.name}: the check cannot fail"
    print(partial.stderr.strip().splitlines()[-1])
    whole = imports_server(wheels)
    assert whole.returncode == 0, f"the server does not import with the whole bundle:\n{whole.stderr}"


def run_plan(bundle: Path) -> None:
    """gpu.sh as the lease runs it, on the CPU with tiny sizes, under the same budgets."""
    out = WORK / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in {"ZEROCLASS_DATA", "PYTHONPATH", "VIRTUAL_ENV"}} | {
        "PYTHON": str(python()), "GPU_SH_DEVICE": "cpu", "GPU_SH_SMOKE": "1", "GPU_SH_OUT": str(out),
        "ZEROCLASS_GPU_BUNDLE": str(bundle), "GPU_SH_BUDGET": str(PLAN_BUDGET), "ZEROCLASS_CACHE": str(WORK / "cache"),
    }
    step(f"the plan, budget {PLAN_BUDGET:.0f} s")
    start = time.monotonic()
    done = subprocess.run(["bash", "benchmarks/gpu.sh"], cwd=REPO, env=env, timeout=PLAN_BUDGET + SLACK)
    took = time.monotonic() - start
    print((out / "plan.log").read_text(encoding="utf-8")[-4000:])
    files = [p for p in out.rglob("*") if p.is_file()]
    outcomes = {}
    for result in sorted(out.glob("*.json")):
        outcomes[result.stem] = json.loads(result.read_text(encoding="utf-8"))["plan"]["outcome"]
    from benchmarks.gpu_plan import STEPS

    problems = [f"{s.name}: {outcomes.get(s.name, 'no result file')}" for s in STEPS if outcomes.get(s.name) != "ok"]
    if done.returncode != 0:
        problems.append(f"gpu.sh exited {done.returncode}")
    if took > PLAN_BUDGET + SLACK:
        problems.append(f"took {took:.0f} s, over {PLAN_BUDGET + SLACK:.0f} s")
    if len(files) > MAX_FILES:
        problems.append(f"{len(files)} result files, over the {MAX_FILES} that come back: {[p.name for p in files]}")
    if problems:
        tail = (out / "stderr.log").read_text(encoding="utf-8", errors="replace")[-6000:] if (out / "stderr.log").is_file() else ""
        raise SystemExit("gpu-rehearsal failed:\n  " + "\n  ".join(problems) + "\n--- stderr.log (end)\n" + tail)
    step(f"passed: {len(outcomes)} steps ok in {took:.0f} s, {len(files)} files")


def main() -> int:
    WORK.mkdir(exist_ok=True)
    bundle, carried = build_bundles()
    make_venv(carried)
    check_bundle_is_needed(bundle)
    run_plan(bundle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
