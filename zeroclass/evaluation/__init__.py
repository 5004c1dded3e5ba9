"""Evaluation: how well a model, labels and templates do on labelled data.

``evaluate(path_or_dataframe, ...)`` gives an :class:`EvaluationReport` (metrics, plots,
worst mistakes); ``zeroclass eval`` is the same from the command line.
"""

from .dataset import LabelledData, load_labelled
from .report import EvaluationReport
from .run import evaluate

__all__ = ["evaluate", "EvaluationReport", "LabelledData", "load_labelled"]
