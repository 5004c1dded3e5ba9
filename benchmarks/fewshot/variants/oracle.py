"""Accuracy on the evaluation texts for fixed pull strengths and per-label biases (no selection): what the examples can give at best."""
import sys; sys.path.insert(0, __import__("os").path.dirname(__file__))
import numpy as np

from sim import TEMPL, emb, fit, load_split, predict
LX = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0)
for name in sys.argv[1].split(","):
    E = emb(name)
    for seed in (0, 1):
        sp = load_split(name, seed, 1000); labels = sp.labels
        init = np.stack([np.stack([E[t.format(l)] for t in TEMPL]) for l in labels]).astype(np.float64).mean(1)
        xe = np.stack([E[t] for t in sp.eval_texts]).astype(np.float64); ge = np.array([labels.index(g) for g in sp.eval_gold])
        texts, gold = sp.train(int(sys.argv[2]))
        x = np.stack([E[t] for t in texts]).astype(np.float64)
        y = np.zeros((len(x), len(labels))); y[np.arange(len(x)), [labels.index(g) for g in gold]] = 1
        rows = np.arange(len(labels))
        res = {"zs": round((predict(xe, init) == ge).mean(), 3)}
        for bl in (None, 0.001, 0.01, 0.1):
            for l in LX:
                D, B, _ = fit(x, y, init, rows, l, bl, 1.0)
                res[f"{l}/{bl}"] = round((predict(xe, init + D, B if bl else None) == ge).mean(), 3)
        # bias only
        for bl in (0.001, 0.01, 0.1):
            D, B, _ = fit(x, y, init, rows, 1e6, bl, 1.0)
            res[f"biasonly/{bl}"] = round((predict(xe, init, B) == ge).mean(), 3)
        print(name, seed, res, flush=True)
