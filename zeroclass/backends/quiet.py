"""Model loads without progress-bar noise.

transformers 5 draws a "Loading weights" bar for every checkpoint it reads,
and under Jupyter without ipywidgets tqdm adds an "IProgress not found"
warning; a classifier that loads in a second needs neither. Downloads keep
their bars: ``zeroclass.hub`` fetches files before any of this runs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_load", "root_logger_untouched"]


@contextmanager
def quiet_load() -> Iterator[None]:
    """Turn transformers' and huggingface_hub's progress bars off for the block, then restore them."""
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hub_bars_were_off = hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*IProgress not found.*")
            yield
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
        if hub_bars_were_off:
            hub_utils.disable_progress_bars()


@contextmanager
def root_logger_untouched() -> Iterator[None]:
    """Run a library that logs through the root logger (``logging.warning(...)``) without it configuring logging.

    onnxruntime's quantiser does so: with no handler on the root logger, that
    call runs ``logging.basicConfig()``, which prints "WARNING:root:..." and
    leaves a handler that makes the user's own loggers print and their later
    ``basicConfig`` do nothing. Here a root logger with no handler gets a
    ``NullHandler`` for the block, so nothing is configured or printed, and
    its handlers are put back as they were.
    """
    root = logging.getLogger()
    handlers = list(root.handlers)
    if not handlers:
        root.addHandler(logging.NullHandler())
    try:
        yield
    finally:
        root.handlers[:] = handlers

