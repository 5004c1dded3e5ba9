"""Throughput benchmark: zeroclass against transformers' zero-shot pipeline, in one process.

``python -m benchmarks.throughput`` (see ``--help``) runs both on the same
model, inputs and thread count, checks the scores against transformers' fp32
answers, relates the speed to this machine's measured matrix-multiply rate,
and writes JSON, a markdown table and a plot to ``benchmarks/results/``.
"""
