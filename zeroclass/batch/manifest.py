"""Crash-safe commits: part files and a manifest in a folder beside the output.

A chunk's results go to their own part file (write a temporary file, fsync,
rename), and only then does the manifest, rewritten the same way, count it
as committed. A ``kill -9`` therefore leaves at worst one orphan part that
the next run overwrites; a rename is atomic, so no reader ever sees half a
file. The manifest also records what the job was (input fingerprint, labels,
model, options) so a resumed run with different ones is refused instead of
stitching two different jobs into one output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ..errors import InputError
from ..tables import TableWriter, open_new, table_format

__all__ = ["Manifest", "fingerprint", "open_job", "atomic_write"]

_VERSION = 1
#: How many bad rows the manifest keeps as examples for the summary.
_EXAMPLES = 10


def fingerprint(path: Path) -> dict[str, Any]:
    """Identify the input by content, so a touched but unchanged file still resumes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return {"input": str(path.resolve()), "input_bytes": path.stat().st_size, "input_sha256": digest.hexdigest()}


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` all or nothing: temporary file, fsync, rename, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open_new(tmp) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, say: leave nothing half-written behind
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Manifest:
    """Progress of one job; saved after every committed chunk."""

    folder: Path
    job: dict[str, Any]
    chunk_rows: int
    chunks: int = 0
    rows: int = 0
    bad_rows: int = 0
    bad_examples: list[str] = field(default_factory=list)
    complete: bool = False  # every input row is in a committed part
    assembled: bool = False  # the output file is written in full (renamed into place, or about to be)

    @property
    def path(self) -> Path:
        return self.folder / "manifest.json"

    def part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.arrow"

    def save(self) -> None:
        state = {k: v for k, v in asdict(self).items() if k != "folder"}
        state["version"] = _VERSION
        atomic_write(self.path, lambda f: f.write(json.dumps(state, indent=1, ensure_ascii=False).encode("utf-8")))

    def commit(self, table: pa.Table, bad_rows: list[str]) -> None:
        """Make one chunk's results durable, then count it as done."""

        def write(f: IO[bytes]) -> None:
            with pa.ipc.new_file(f, table.schema) as writer:
                writer.write_table(table)

        atomic_write(self.part(self.chunks), write)
        self.chunks += 1
        self.rows += table.num_rows
        self.bad_rows += len(bad_rows)
        self.bad_examples += bad_rows[: _EXAMPLES - len(self.bad_examples)]
        self.save()

    def parts(self) -> Iterator[pa.Table]:
        """The committed chunks in order, one in memory at a time."""
        for index in range(self.chunks):
            with pa.memory_map(str(self.part(index))) as source:
                yield pa.ipc.open_file(source).read_all()

    def schema(self) -> pa.Schema:
        """One schema for the whole output: JSON-lines chunks may differ in keys seen."""
        schemas = []
        for index in range(self.chunks):
            with pa.memory_map(str(self.part(index))) as source:
                schemas.append(pa.ipc.open_file(source).schema)
        try:
            return pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"the input's columns change type between rows, so no one output fits: {exc}") from exc

    def publish(self, output: Path) -> None:
        """Assemble the parts into ``output`` atomically, then drop the folder.

        The manifest is marked assembled between writing the temporary file
        and renaming it, so a crash anywhere in here is finished by the next
        run without redoing a chunk or clobbering someone else's file.
        """
        tmp = output.with_name(output.name + ".tmp")
        if not self.assembled:
            schema = self.schema()
            try:
                with TableWriter(tmp, schema, fmt=table_format(output)) as writer:
                    for table in self.parts():
                        writer.write(table)
                self.assembled = True
                self.save()
            except BaseException:
                if not self._saved_assembled():  # else the next run renames the finished file into place
                    self.assembled = False
                    tmp.unlink(missing_ok=True)
                raise
        if tmp.exists():
            os.replace(tmp, output)
            _fsync_dir(output.parent)
        self.discard()

    def _saved_assembled(self) -> bool:
        """Whether the manifest on disk says the output is assembled (a failed save may or may not have landed)."""
        try:
            return bool(json.loads(self.path.read_text(encoding="utf-8")).get("assembled"))
        except (OSError, ValueError):
            return False

    def discard(self) -> None:
        """Remove the manifest and its parts, atomically.

        The folder is renamed away before it is deleted: a kill in the middle
        of a plain ``rmtree`` could leave parts without their manifest, which
        the next run would take for someone else's files.
        """
        trash = self.folder.with_name(self.folder.name + ".trash")
        shutil.rmtree(trash, ignore_errors=True)
        if self.folder.exists():
            os.replace(self.folder, trash)
            _fsync_dir(self.folder.parent)
        shutil.rmtree(trash, ignore_errors=True)


def open_job(output: Path, job: dict[str, Any], *, chunk_rows: int, overwrite: bool) -> Manifest:
    """The manifest to continue from, or a fresh one; refuses to clobber or to mix jobs."""
    folder = output.with_name(output.name + ".partial")
    if overwrite:
        shutil.rmtree(folder, ignore_errors=True)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        state = json.loads(manifest_path.read_text(encoding="utf-8"))
        if state.pop("version", None) != _VERSION:
            raise InputError(f"{manifest_path} was made by another zeroclass version; pass --overwrite to start over")
        manifest = Manifest(folder=folder, **state)
        _check_same_job(manifest, job)
        if not manifest.assembled and output.exists():
            raise InputError(f"{output} already exists; pass --overwrite (overwrite=True) to replace it")
        return manifest
    if output.exists() and not overwrite:
        raise InputError(f"{output} already exists; pass --overwrite (overwrite=True) to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(folder=folder, job=job, chunk_rows=chunk_rows)
    manifest.save()
    return manifest


def _check_same_job(manifest: Manifest, job: dict[str, Any]) -> None:
    for key in sorted(set(job) | set(manifest.job)):
        was, now = manifest.job.get(key), job.get(key)
        if was != now:
            what = "the input file changed" if key.startswith("input") else f"{key} was {was!r}, now {now!r}"
            raise InputError(
                f"{manifest.path} belongs to an unfinished job that differs from this one ({what}); "
                "run the same command again to continue it, or pass --overwrite to start over"
            )
