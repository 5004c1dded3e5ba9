"""Embed every text of the few-shot splits (both seeds) once with the offline default's English encoder, for sim.py.

    PYTHONPATH=. .venv/bin/python benchmarks/fewshot/variants/cache.py   # writes $FEWSHOT_CACHE (default /tmp/fewshot-cache)
"""
import os
from pathlib import Path
CACHE = os.environ.get("FEWSHOT_CACHE", "/tmp/fewshot-cache")
os.makedirs(CACHE, exist_ok=True)
import sys, json, time, numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data import load_split
import zeroclass
base = zeroclass.pipeline(device="cpu")
enc = base.backend.adaptation_backend(["An English sentence."], joint=False)  # MiniLM alone, as the variant runs in RESULTS
print(type(enc), enc.default_template, enc.temperature, flush=True)
for name in ["trec", "sst2", "dair_emotion", "ag_news", "banking77"]:
    texts = []
    for seed in (0, 1):
        s = load_split(name, seed, 1000)
        texts += s.eval_texts + [t for v in s.pool.values() for t in v]
        texts += [t.format(l) for l in s.labels for t in enc.default_template]
    texts = list(dict.fromkeys(texts))
    t0 = time.time()
    e = enc.embed(texts)
    np.save(f"{CACHE}/{name}.npy", e)
    json.dump(texts, open(f"{CACHE}/{name}.json", "w"))
    print(name, len(texts), time.time() - t0, flush=True)
