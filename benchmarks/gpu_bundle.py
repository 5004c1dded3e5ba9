"""Prepare ``.gpu/``: what ``benchmarks/gpu.sh`` needs on a GPU machine that has no network.

That machine has Python 3.12 with torch, transformers, onnxruntime, numpy,
httpx, rich and matplotlib, but not the server stack, not the evaluation
texts (``../shared/data`` stays behind) and not the 88 MB bundled model
package (the device tool carries at most 64 MiB). So this copies, into one
folder to carry:

- ``wheels/``: FastAPI (with its offline docs assets), Starlette, pydantic, pydantic-core, uvicorn and their
  small pure dependencies, for CPython 3.12 on manylinux x86-64, at the
  versions installed here (needs PyPI);
- ``tokenizer/``: the bert-base-uncased WordPiece files the benchmark models use;
- ``data/``: the ``test.jsonl`` of the sets the workloads read and every set's ``meta.json``.

    .venv/bin/python -m benchmarks.gpu_bundle            # then carry .gpu and run benchmarks/gpu.sh
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.throughput import models, workloads

REPO = Path(__file__).resolve().parents[1]
#: The distributions ``zeroclass serve`` needs that the GPU image lacks.
SERVER_STACK = ("fastapi", "fastapi-offline", "starlette", "pydantic", "pydantic-core", "annotated-types", "typing-inspection", "uvicorn")
_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def download_wheels(folder: Path) -> None:
    """The server stack's wheels for the GPU machine's Python, pinned to what runs here."""
    pins = [f"{name}=={metadata.version(name)}" for name in SERVER_STACK]
    platforms = [arg for p in _PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
         "--implementation", "cp", *platforms, "-d", str(folder), *pins],
        check=True,
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".gpu")
    parser.add_argument("--no-wheels", action="store_true", help="skip the download (tokenizer and data only)")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    copy_tokenizer(args.out / "tokenizer")
    copy_data(args.out / "data")
    if not args.no_wheels:
        download_wheels(args.out / "wheels")
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"{args.out}: {size / 2**20:.1f} MiB (the device tool carries at most 64 MiB with the working tree)")


if __name__ == "__main__":
    main()
