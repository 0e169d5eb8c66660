"""Ordinary least squares on the Longley (1967) macroeconomic data.

Regresses total employment on the GNP deflator, GNP, unemployment, armed forces, population and
year. The data are famously collinear; NIST publishes certified values for this regression
(StRD, "Longley"), which the results can be checked against.

Writes results.csv (one row per coefficient) to $VIAL_OUTPUT_DIR (default /outputs, if it exists)
and prints the same table.
"""

import csv
import os
import sys

import numpy as np
from scipy import stats

PREDICTORS = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]


def main() -> int:
    data = np.genfromtxt("data/longley.csv", delimiter=",", names=True)
    y = data["TOTEMP"]
    X = np.column_stack([np.ones(len(y))] + [data[name] for name in PREDICTORS])
    n, k = X.shape
    # QR keeps the collinear Longley design well conditioned enough for ~10 correct digits.
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    residuals = y - X @ beta
    dof = n - k
    sigma2 = residuals @ residuals / dof
    r_inv = np.linalg.inv(r)
    cov = sigma2 * (r_inv @ r_inv.T)
    se = np.sqrt(np.diag(cov))
    t = beta / se
    p = 2 * stats.t.sf(np.abs(t), dof)
    r2 = 1 - residuals @ residuals / np.sum((y - y.mean()) ** 2)

    rows = [
        {"term": term, "estimate": f"{b:.10g}", "std_error": f"{s:.10g}", "t": f"{tv:.6g}", "p": f"{pv:.6g}"}
        for term, b, s, tv, pv in zip(["(Intercept)", *PREDICTORS], beta, se, t, p, strict=True)
    ]
    out_dir = os.environ.get("VIAL_OUTPUT_DIR", "/outputs")
    if os.path.isdir(out_dir):
        with open(os.path.join(out_dir, "results.csv"), "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(f"Longley OLS: n={n}, k={k}, R^2={r2:.10f}, residual SD={np.sqrt(sigma2):.10g}")
    print(f"{'term':<12} {'estimate':>18} {'std_error':>18} {'t':>10} {'p':>10}")
    for row in rows:
        print(f"{row['term']:<12} {row['estimate']:>18} {row['std_error']:>18} {row['t']:>10} {row['p']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
