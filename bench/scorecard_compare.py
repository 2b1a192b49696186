#!/usr/bin/env python3
"""Time scorecardpy's documented recipe on the German credit fixture, to set
beside `atobarai model train --timing` and `cargo bench -p atobarai-model`.

Not run in CI (it needs scorecardpy, pandas and scikit-learn installed by
hand, e.g. in a virtual environment: `pip install scorecardpy "pandas<2.2"
"numpy<2"`; scorecardpy 0.1.9.7 fails under pandas 3).

    python3 bench/scorecard_compare.py [crates/model/tests/data/german_credit.tsv] [--repeat 5]

The recipe (scorecardpy's README): var_filter on all rows, woebin on the
train rows, woebin_ply, L1 logistic regression (saga, C=0.9), then AUC/KS on
train and test. The split is the fixture's own `split` column, which is
scorecardpy's split_df(seed=186) after var_filter. Fit time = woebin +
woebin_ply + LogisticRegression.fit on the train rows (var_filter and reading
the file excluded), the same span `--timing` calls "fit" in Rust except that
the Rust fit also bins all 20 attributes itself and scores train and test.
"""

import argparse
import statistics
import time

import pandas as pd
import scorecardpy as sc
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve


def ks(y, p):
    fpr, tpr, _ = roc_curve(y, p)
    return max(abs(tpr - fpr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default="crates/model/tests/data/german_credit.tsv")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    dat = pd.read_csv(args.data, sep="\t")
    split = dat.pop("split")
    dat["creditability"] = (dat["creditability"] == "bad").astype(int)
    dt_s = sc.var_filter(dat, y="creditability")
    train = dt_s[split == "train"].copy()
    test = dt_s[split == "test"].copy()

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        bins = sc.woebin(train, y="creditability")
        train_woe = sc.woebin_ply(train, bins)
        test_woe = sc.woebin_ply(test, bins)
        y_train = train_woe.loc[:, "creditability"]
        X_train = train_woe.loc[:, train_woe.columns != "creditability"]
        lr = LogisticRegression(penalty="l1", C=0.9, solver="saga", n_jobs=-1)
        lr.fit(X_train, y_train)
        times.append(time.perf_counter() - t0)

    y_test = test_woe.loc[:, "creditability"]
    X_test = test_woe.loc[:, train_woe.columns != "creditability"]
    p_train = lr.predict_proba(X_train)[:, 1]
    p_test = lr.predict_proba(X_test)[:, 1]
    print(f"scorecardpy {sc.__version__ if hasattr(sc, '__version__') else ''}".strip())
    print(f"train AUC {roc_auc_score(y_train, p_train):.4f} KS {ks(y_train, p_train):.4f}")
    print(f"test  AUC {roc_auc_score(y_test, p_test):.4f} KS {ks(y_test, p_test):.4f}")
    print(
        f"fit (woebin + woebin_ply + LogisticRegression.fit), {args.repeat} runs: "
        f"median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
