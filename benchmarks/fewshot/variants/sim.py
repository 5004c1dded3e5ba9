"""Variants of the `head` adaptation, simulated on cached embeddings (cache.py) with the classifier's refinement.

Exploratory: how the few-shot section of benchmarks/RESULTS.md judged other
selection rules, pull grids, per-label biases and refinement choices before
changing the package. ``predict`` scores like the classifier (template-mean
label vectors, refinement over the 1,000 evaluation texts in one call);
``fit`` is head.py's objective plus optional zero-mean per-label biases.

    PYTHONPATH=. .venv/bin/python benchmarks/fewshot/variants/compare.py trec,sst2,dair_emotion,ag_news,banking77 8
    PYTHONPATH=. .venv/bin/python benchmarks/fewshot/variants/oracle.py sst2,dair_emotion 8
"""
import os
from pathlib import Path
CACHE = os.environ.get("FEWSHOT_CACHE", "/tmp/fewshot-cache")
import sys, json, math, time, numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data import load_split
from scipy.optimize import minimize
from zeroclass.backends.embedding import _refined_cosine, _unit, REFINE_ROUNDS
T = 0.05
TEMPL = ("{}", "This text is about {}.")
EMB = {}
def emb(name):
    if name not in EMB:
        texts = json.load(open(f"{CACHE}/{name}.json")); e = np.load(f"{CACHE}/{name}.npy")
        EMB[name] = {t: v for t, v in zip(texts, e)}
    return EMB[name]

def predict(x, W, b=None, refine=True):
    """argmax like the classifier: W (labels, dim) = template mean vectors; b logit offsets."""
    norms = np.linalg.norm(W, axis=1)
    if not refine:
        z = x @ W.T / T
        return (z + (b if b is not None else 0)).argmax(1)
    start = _unit(W)
    cos = x @ start.T
    pick = lambda c: (c if b is None else c * norms / T + b).argmax(1)
    picks = pick(cos)
    for _ in range(REFINE_ROUNDS):
        cos = _refined_cosine(x, start, picks)
        picks = pick(cos)
    z = cos * norms / T + (b if b is not None else 0)
    return z.argmax(1)

def fit(x, y, init, rows, lam, bias_lam, scale, start=None):
    """shifts (rows) orthogonal to common dir + zero-mean biases; loss CE over trained labels only."""
    r, dim = len(rows), init.shape[1]
    if math.isinf(lam) or len(x) == 0:
        return np.zeros_like(init), np.zeros(len(init))
    common = _unit(x.mean(0))
    P = lambda d: d - np.outer(d @ common, common)
    Y = y[:, rows]; I = init[rows]
    use_b = bias_lam is not None
    def obj(flat):
        d = P(flat[: r * dim].reshape(r, dim))
        bb = flat[r * dim:] if use_b else np.zeros(r)
        bc = bb - bb.mean()
        z = x @ (I + d).T / T + bc
        z = z - z.max(1, keepdims=True)
        lp = z - np.log(np.exp(z).sum(1, keepdims=True))
        loss = -(Y * lp).sum() / len(x)
        err = (np.exp(lp) - Y) / len(x)
        gd = err.T @ x / T
        f = loss + lam * (d ** 2).sum()
        g = [P(gd + 2 * lam * d).ravel()]
        if use_b:
            f += bias_lam * (bc ** 2).sum()
            gb = err.sum(0) + 2 * bias_lam * bc
            g.append(gb - gb.mean())
        return f, np.concatenate(g)
    n = r * dim + (r if use_b else 0)
    x0 = np.zeros(n) if start is None else start
    s = minimize(obj, x0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    D = np.zeros_like(init); D[rows] = P(s.x[: r * dim].reshape(r, dim))
    B = np.zeros(len(init))
    if use_b:
        bb = s.x[r * dim:]; B[rows] = bb - bb.mean()
    return D, B, s.x

def cv_choose(x, y, init, lams, bias_f, rule, seed, nfolds=5):
    gold = y.argmax(1)
    counts = np.bincount(gold, minlength=y.shape[1]); counts = counts[counts > 0]
    nf = max(2, min(nfolds, counts.min()))
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(x), int); dealt = {}
    for i in rng.permutation(len(x)):
        folds[i] = dealt.get(gold[i], 0) % nf; dealt[gold[i]] = dealt.get(gold[i], 0) + 1
    L = {l: np.zeros(len(x)) for l in lams}
    for f in range(nf):
        tr, he = folds != f, folds == f
        rows = np.flatnonzero(y[tr].sum(0) > 0)
        st = None
        for l in sorted(lams, reverse=True):
            if math.isinf(l):
                D, B = np.zeros_like(init), np.zeros(len(init))
            else:
                D, B, st = fit(x[tr], y[tr], init, rows, l, None if bias_f is None else bias_f(l), 1.0, st)
            allrows = np.flatnonzero(y.sum(0) > 0)
            z = x[he] @ (init + D)[allrows].T / T + B[allrows]
            z = z - z.max(1, keepdims=True); lp = z - np.log(np.exp(z).sum(1, keepdims=True))
            L[l][he] = -(y[he][:, allrows] * lp).sum(1)
    best = min(L, key=lambda l: L[l].mean())
    if rule == "argmin":
        return best, L
    for l in sorted(L, reverse=True):
        d = L[l] - L[best]
        se = d.std(ddof=1) / np.sqrt(len(d))
        if d.mean() <= se:
            return l, L
    return best, L

LAMS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, math.inf)

def variant(x, y, init, cfg, seed):
    bias_f = cfg.get("bias")
    lams = cfg.get("lams", LAMS)
    lam, L = cv_choose(x, y, init, lams, bias_f, cfg.get("rule", "1se"), seed, cfg.get("folds", 5))
    rows = np.flatnonzero(y.sum(0) > 0)
    if math.isinf(lam):
        return init, None, lam
    D, B, _ = fit(x, y, init, rows, lam, None if bias_f is None else bias_f(lam), 1.0)
    return init + D, (B if bias_f is not None else None), lam

def run(cfgs, sets, ks, seeds=(0, 1), heldout=False):
    out = []
    for name in sets:
        E = emb(name)
        for seed in seeds:
            sp = load_split(name, seed, 1000)
            labels = sp.labels
            H = np.stack([np.stack([E[t.format(l)] for t in TEMPL]) for l in labels]).astype(np.float64)
            init = H.mean(1)
            xe = np.stack([E[t] for t in sp.eval_texts]).astype(np.float64)
            ge = np.array([labels.index(g) for g in sp.eval_gold])
            zs = (predict(xe, init) == ge).mean()
            out.append(dict(set=name, seed=seed, k=0, m="zeroshot", acc=zs))
            for k in ks:
                texts, gold = sp.train(k)
                x = np.stack([E[t] for t in texts]).astype(np.float64)
                y = np.zeros((len(x), len(labels))); y[np.arange(len(x)), [labels.index(g) for g in gold]] = 1
                for cname, cfg in cfgs.items():
                    t0 = time.time()
                    W, B, lam = variant(x, y, init, cfg, seed)
                    acc = (predict(xe, W, B, cfg.get("refine", True)) == ge).mean()
                    out.append(dict(set=name, seed=seed, k=k, m=cname, acc=acc, lam=lam, s=time.time() - t0))
                    if heldout:
                        order = np.random.default_rng(seed).permutation(len(labels))
                        held = set(order[: max(1, len(labels) // 3)])
                        keep = np.array([labels.index(g) not in held for g in gold])
                        W2, B2, _ = variant(x[keep], y[keep], init, cfg, seed)
                        he = np.isin(ge, list(held))
                        a0 = (predict(xe[he], init) == ge[he]).mean()
                        a1 = (predict(xe[he], W2, B2, cfg.get("refine", True)) == ge[he]).mean()
                        out[-1]["ho"] = a1 - a0
                    print(json.dumps({kk: (round(v, 4) if isinstance(v, float) else v) for kk, v in out[-1].items()}), flush=True)
    return out

def summary(out):
    import collections
    zs = {(o["set"], o["seed"]): o["acc"] for o in out if o["m"] == "zeroshot"}
    agg = collections.defaultdict(list); ho = collections.defaultdict(list)
    for o in out:
        if o["m"] != "zeroshot":
            agg[(o["m"], o["k"])].append((o["set"], o["acc"] - zs[(o["set"], o["seed"])]))
            if "ho" in o: ho[(o["m"], o["k"])].append((o["set"], o["ho"]))
    for key, v in sorted(agg.items()):
        per = collections.defaultdict(list)
        for s, d in v: per[s].append(d)
        hper = collections.defaultdict(list)
        for s, d in ho.get(key, []): hper[s].append(d)
        print(key, "mean gain %.2f" % (100 * np.mean([d for _, d in v])), {s: round(100 * np.mean(d), 1) for s, d in per.items()},
              "HO", {s: round(100 * np.mean(d), 1) for s, d in hper.items()}, "HOworst", round(100 * min([d for _, d in ho.get(key, [])] or [0]), 1))
    print("zeroshot", {s: round(np.mean([a for (ss, _), a in zs.items() if ss == s]), 3) for s, _ in zs})
