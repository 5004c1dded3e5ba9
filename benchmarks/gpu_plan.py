"""The GPU plan: every measurement of a lease, in order of value, each step inside its own budget.

A lent GPU machine gives 15 minutes, starts included, and one broken or slow
step must not cost the others. So the plan runs each step as a child process
with its own time limit (cut to what is left of the whole plan), and writes
as it goes, into ``--out`` (``$GPU_SH_OUT``). Importing torch and
transformers took 13-16 s a process on the H200 machine (the first lease
lost 80 s to it), so the plan imports them once and forks each step from
itself (CUDA is never touched before the fork, so each child starts its own).

- ``plan.log``: each step's start, end, outcome and time, and its tables;
- ``stderr.log``: every child's standard error (servers' included);
- ``<step>.json``: one per step, rewritten by the step after each pass and
  completed by the plan with the step's outcome (``ok``, ``failed``,
  ``timeout`` or ``skipped``), so a file exists for every step whatever
  happened.

That is eight files: what the device tool brings back.

    python -m benchmarks.gpu_plan --out OUT [--device cuda] [--smoke] [--budget 280]

``--smoke`` runs the same steps on tiny models with tiny sizes, under the
same per-step budgets: the rehearsal (``make gpu-rehearsal``) runs it on the
CPU in an environment that mirrors the GPU image.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: The whole plan's default budget: inside the 5 minutes a lease's run is given, start-up included.
DEFAULT_BUDGET = 280.0
#: A step is not started with less than this left: it could only time out.
MIN_STEP_SECONDS = 8.0
#: Imported once by the plan, before any step is forked (no CUDA call among them).
PRELOAD = ("numpy", "torch", "transformers", "zeroclass", "benchmarks.throughput.models")


@dataclass(frozen=True)
class Config:
    """What a step's command depends on: the device, and full or smoke sizes."""

    device: str
    smoke: bool
    out: Path

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def shape(self, name: str) -> str:
        """The model shape a step uses: the real one, or its tiny stand-in in a smoke run."""
        return {"bart-large": "tiny-bart", "deberta-v3-base": "tiny-deberta"}.get(name, "tiny") if self.smoke else name

    def systems(self, *names: str) -> str:
        """zeroclass contenders: fp16 exists on CUDA only."""
        return ",".join(n for n in names if self.cuda or not n.startswith("fp16"))

    def hf_dtypes(self) -> str:
        return "float32,float16" if self.cuda else "float32,bfloat16"


@dataclass(frozen=True)
class Step:
    """One measurement: its result file's stem, its budget (seconds) and its command."""

    name: str
    seconds: float
    command: Callable[[Config, float], list[str]]
    #: The last step takes whatever the plan has left, its own budget or more.
    takes_rest: bool = False


def throughput(shape: str, workloads: str, systems: tuple[str, ...], target: float, *extra: str) -> Callable[[Config, float], list[str]]:
    """A ``benchmarks.throughput`` step: sized from a probe to ``target`` seconds a pass (1 s in a smoke run)."""

    def command(config: Config, budget: float) -> list[str]:
        return [
            sys.executable, "-m", "benchmarks.throughput", "--device", config.device, "--model", config.shape(shape),
            "--workloads", workloads, "--systems", config.systems(*systems), "--hf-dtypes", config.hf_dtypes(),
            "--target-seconds", str(1.0 if config.smoke else target), "--budget", str(budget * 0.9),
            "--ceiling-budget", "0.3" if config.smoke else "1.0", "--repeats", "2",
            *extra, *(["--threads", "1", "--probe-pairs", "200"] if config.smoke else []),  # smoke sizes win
        ]

    return command


def server(config: Config, budget: float) -> list[str]:
    """``benchmarks/load.py``: 32 clients against the server, micro-batching on and off."""
    # Two server starts (imports, model, CUDA context: ~10 s each) and a CPU reference load are overhead.
    duration = 2 if config.smoke else max(4.0, (budget - 40) / 2)
    dtype = ["--server-arg=--dtype=bfloat16"] if config.cuda else []
    return [
        sys.executable, "benchmarks/load.py", "--clients", "32", "--duration", str(duration), "--warmup", "1",
        f"--server-arg=--device={config.device}", *dtype, "--server-log", str(config.out / "stderr.log"),
    ]


#: In order of value: what a lease cut short should still have measured.
STEPS = (
    # Three passes: the first meets every batch shape anew (seen on the H200: a single 12-s pass gave half the warm rate).
    Step("1-bert-base", 65, throughput("bert-base", "agnews-8", ("bf16", "fp16", "fp32", "bf16@65536", "bf16@4096"), 6,
                                      "--split", "--repeats", "3")),
    Step("2-bart-large", 40, throughput("bart-large", "agnews-8", ("bf16", "fp16"), 6, "--split", "--probe-pairs", "500")),
    Step("3-deberta-v3-base", 35, throughput("deberta-v3-base", "agnews-8", ("bf16", "fp16"), 6, "--split", "--probe-pairs", "500")),
    Step("4-server", 55, server),
    # transformers at the batch size step 1 found best for both precisions on a GPU (128), to fit four workloads.
    Step("5-workloads", 40, throughput("bert-base", "mixed-8,repeated-8,agnews-32,agnews-128", ("bf16",), 3,
                                      "--probe-pairs", "500", "--hf-batch-sizes", "128")),
    # Compiling takes tens of seconds before the first figure: last, with all that is left.
    Step("6-compile", 45, throughput("bert-base", "agnews-8", ("bf16", "bf16-compile"), 4), takes_rest=True),
)


class Plan:
    """Runs the steps, keeps ``plan.log`` and ``stderr.log``, and sees that every step leaves its JSON."""

    def __init__(self, config: Config, budget: float, preload: tuple[str, ...] = PRELOAD) -> None:
        self.config, self.budget, self.preload = config, budget, preload
        self.started = time.monotonic()
        config.out.mkdir(parents=True, exist_ok=True)
        self.log_path, self.stderr_path = config.out / "plan.log", config.out / "stderr.log"

    def log(self, line: str) -> None:
        stamped = f"[{time.monotonic() - self.started:6.1f}s] {line}"
        print(stamped, file=sys.stderr, flush=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(stamped + "\n")

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def run(self, steps: tuple[Step, ...] = STEPS) -> list[str]:
        """Every step in order; the names of those that did not end ``ok``."""
        self.log(f"plan: {len(steps)} steps, {self.budget:.0f} s, device {self.config.device}, "
                 f"{'smoke sizes' if self.config.smoke else 'full sizes'}, out {self.config.out}")
        self.preflight()
        start = time.monotonic()
        for name in self.preload:
            importlib.import_module(name)
        if self.preload:
            self.log(f"preloaded {', '.join(self.preload)} in {time.monotonic() - start:.1f} s")
        failed = []
        for step in steps:
            outcome = self.run_step(step)
            if outcome != "ok":
                failed.append(step.name)
        self.log(f"plan done in {time.monotonic() - self.started:.1f} s; not ok: {', '.join(failed) or 'none'}")
        return failed

    def preflight(self) -> None:
        """Versions of what the plan imports, and whether the server stack imports: in plan.log, first."""
        probe = ("import importlib.metadata as m\n"
                 "for name in ('torch','transformers','tokenizers','huggingface_hub','numpy','onnxruntime','httpx',"
                 "'fastapi','starlette','pydantic','uvicorn','fastapi-offline','opentelemetry-api'):\n"
                 "    try: print(name, m.version(name))\n"
                 "    except m.PackageNotFoundError: print(name, 'MISSING')\n"
                 "import zeroclass.server.app; print('server stack imports: ok')\n")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO)
        self.log("preflight: " + "; ".join((done.stdout + done.stderr).strip().splitlines()[-16:]))

    def run_step(self, step: Step) -> str:
        result = self.config.out / f"{step.name}.json"
        budget = self.left() if step.takes_rest else min(step.seconds, self.left())
        if budget < MIN_STEP_SECONDS:
            self.log(f"{step.name}: skipped, {self.left():.0f} s left")
            self.finish(result, step, "skipped", None, 0.0, budget)
            return "skipped"
        command = step.command(self.config, budget)
        if "--json-out" not in command:
            command += ["--json-out", str(result)]
        self.log(f"{step.name}: start, budget {budget:.0f} s: {' '.join(command[1:])}")
        start = time.monotonic()
        rc = self.child(command, step.name, budget)
        took = time.monotonic() - start
        outcome = "timeout" if rc is None else "ok" if rc == 0 else "failed"
        self.finish(result, step, outcome, rc, took, budget)
        self.log(f"{step.name}: {outcome} (rc {rc}) in {took:.1f} s")
        return outcome

    def child(self, command: list[str], name: str, budget: float) -> int | None:
        """Fork one step (its own process group), stdout into plan.log and stderr into stderr.log;
        its exit status, or None if it ran out of time and was killed with everything it started."""
        with open(self.log_path, "a", encoding="utf-8") as out, open(self.stderr_path, "a", encoding="utf-8") as err:
            err.write(f"\n==== {name}\n")
            err.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the step
                os.setsid()
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                # sys.stdout/stderr may wrap other files than fds 1 and 2 (a test's capture): point them there.
                sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
                os._exit(_run_forked(command[1:]))
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)  # the step's servers too
        os.waitpid(pid, 0)
        return None

    def finish(self, result: Path, step: Step, outcome: str, rc: int | None, took: float, budget: float) -> None:
        """Complete the step's JSON with how it ended (write one if the step left none)."""
        try:
            document: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = {"status": "no result written"}
        document["plan"] = {"step": step.name, "outcome": outcome, "rc": rc, "seconds": took, "budget_s": budget,
                            "device": self.config.device, "smoke": self.config.smoke}
        if outcome != "ok":
            document["plan"]["stderr_tail"] = self.stderr_tail(step.name)
        partial = result.with_name(result.name + ".partial")
        partial.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        partial.replace(result)

    def stderr_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        section = text.rsplit(f"==== {name}\n", 1)[-1]
        return "".join(section.splitlines(keepends=True)[-lines:])


def _run_forked(argv: list[str]) -> int:
    """In a forked step: run ``argv`` (what follows ``python``: ``-m module ...``, ``-c code ...``
    or ``script ...``) as that command line would, and return its exit status."""
    os.chdir(REPO)
    code = 0
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the plan's own step
        else:
            sys.argv = list(argv)
            sys.path.insert(0, str(Path(argv[0]).resolve().parent))
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except BaseException:  # noqa: BLE001 - reported in stderr.log, as a process would
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="results folder (plan.log, stderr.log, one JSON per step)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny models and sizes, same steps and budgets")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds for the whole plan")
    parser.add_argument("--steps", help="comma-separated step names to run (default: all)")
    args = parser.parse_args(argv)
    chosen = tuple(s for s in STEPS if not args.steps or s.name in args.steps.split(","))
    plan = Plan(Config(args.device, args.smoke, args.out.resolve()), args.budget)
    return 1 if plan.run(chosen) else 0


if __name__ == "__main__":
    raise SystemExit(main())
