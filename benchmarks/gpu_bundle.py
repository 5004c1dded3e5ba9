"""Prepare ``.gpu/``: what ``benchmarks/gpu.sh`` needs on a GPU machine that has no network.

That machine has Python 3.12 with torch, transformers, onnxruntime, numpy,
httpx, rich and matplotlib (``benchmarks/gpu_image.txt`` lists all of its
packages), but not the server stack, not the evaluation texts
(``../shared/data`` stays behind) and not the 88 MB bundled model package
(the device tool carries at most 64 MiB). So this copies, into one folder to
carry:

- ``wheels/``: the server stack (:data:`ROOTS`, at the versions installed
  here) and every dependency pip's resolver says it needs, less the
  packages the image already has, for the target Python (3.12 on manylinux
  x86-64 by default; ``--python-version local`` for this interpreter, as the
  rehearsal uses). A dependency that a hand-made list forgot (FastAPI 0.165
  imports ``opentelemetry-api``) is found by the resolver, not by a lease;
- ``tokenizer/``: the bert-base-uncased WordPiece files the benchmark models use;
- ``data/``: the ``test.jsonl`` of the sets the workloads read and every set's ``meta.json``.

The folder may hold at most :data:`MAX_MIB` MiB: it travels with the working tree.

    .venv/bin/python -m benchmarks.gpu_bundle            # then carry .gpu and run benchmarks/gpu.sh
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from benchmarks.throughput import models, workloads

REPO = Path(__file__).resolve().parents[1]
#: What ``zeroclass serve`` imports beyond the package's own dependencies: the ``server`` extra.
ROOTS = ("fastapi", "fastapi-offline", "uvicorn", "prometheus-client")
#: The GPU image's packages, one per line, ``name`` or ``name==version``.
IMAGE = REPO / "benchmarks" / "gpu_image.txt"
#: The bundle's ceiling: the working tree and it travel in at most 64 MiB together.
MAX_MIB = 40.0
_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def image_packages(path: Path = IMAGE) -> dict[str, str | None]:
    """The image's packages: canonical name -> version (``None`` where the image's listing gave none)."""
    found: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonical(name)] = version or None
    return found


def target_args(python_version: str) -> list[str]:
    """pip's options for wheels of another interpreter (none for ``local``)."""
    if python_version == "local":
        return []
    platforms = [arg for p in _PLATFORMS for arg in ("--platform", p)]
    return ["--python-version", python_version, "--implementation", "cp", *platforms]


def resolve(roots: list[str], python_version: str) -> dict[str, str]:
    """Every distribution ``roots`` need on the target, as pip's resolver picks them: name -> version."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
             "--only-binary=:all:", *target_args(python_version), *roots],
            check=True,
        )
        chosen = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in chosen}


def carried(resolved: dict[str, str], image: dict[str, str | None]) -> dict[str, str]:
    """What must travel: the resolved distributions the image lacks.

    A package the image has is left to it whatever version the resolver
    picked: the image's copy is the one its other packages were built with,
    and two copies of one package on the path is worse than an older one.
    """
    return {name: version for name, version in resolved.items() if name not in image}


def roots_pinned() -> list[str]:
    """:data:`ROOTS` at the versions installed here: the stack the test suite exercised."""
    return [f"{name}=={metadata.version(name)}" for name in ROOTS]


def download_wheels(folder: Path, python_version: str = "3.12") -> dict[str, str]:
    """Resolve, subtract the image, download; returns what was carried (name -> version)."""
    wanted = carried(resolve(roots_pinned(), python_version), image_packages())
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *target_args(python_version),
         "-d", str(folder), *(f"{name}=={version}" for name, version in sorted(wanted.items()))],
        check=True,
    )
    return wanted


def copy_data(folder: Path) -> None:
    root = workloads.data_root()
    for meta in sorted(root.glob("*/meta.json")):
        (folder / meta.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(meta, folder / meta.parent.name / "meta.json")
    for name in workloads.TEXT_SETS:
        shutil.copyfile(root / name / "test.jsonl", folder / name / "test.jsonl")


def copy_tokenizer(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in models.TOKENIZER_FILES:
        source = models.tokenizer_dir() / name
        if source.is_file():
            shutil.copyfile(source, folder / name)


def size_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".gpu")
    parser.add_argument("--python-version", default="3.12", help="the target interpreter, or 'local' for this one (default: 3.12, the GPU image's)")
    parser.add_argument("--no-wheels", action="store_true", help="skip the download (tokenizer and data only)")
    args = parser.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    copy_tokenizer(args.out / "tokenizer")
    copy_data(args.out / "data")
    if not args.no_wheels:
        wanted = download_wheels(args.out / "wheels", args.python_version)
        (args.out / "carried.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(wanted.items())), encoding="utf-8")
        print(f"carried for Python {args.python_version}: {', '.join(sorted(wanted))}")
    size = size_mib(args.out)
    print(f"{args.out}: {size:.1f} MiB (at most {MAX_MIB:.0f} MiB: the device tool carries 64 MiB with the working tree)")
    if size > MAX_MIB:
        print(f"error: the bundle is {size:.1f} MiB, over {MAX_MIB:.0f} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
