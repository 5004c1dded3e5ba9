"""Batch jobs: classify every row of a large file, crash-safe and resumable.

``classify_file(input, output, candidate_labels, ...)`` is the Python side
of ``zeroclass batch``; see :mod:`zeroclass.batch.job`.
"""

from .job import BatchSummary, classify_file

__all__ = ["classify_file", "BatchSummary"]
