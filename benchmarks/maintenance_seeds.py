"""Seed spread of the C-MAPSS RUL test figures: the recorded recipe trained with several seeds.

Why: 100 test engines make one run's RMSE a noisy figure (one seed is not a result), and the
train command is too slow on 2 cores to repeat many times. This trains exactly what
``lepton maintenance train --data train_FD00x.txt`` trains for the RUL estimate
(``recorded.fit_recorded``: cross-fitting, blend weight, final nets + trees) once per seed,
in parallel processes, and scores each on the test file at each engine's last cycle, as
``evaluate`` does. The test file is only read for scoring: no choice is made on it.

    python -m benchmarks.maintenance_seeds --data ../shared/datasets/cmapss --seeds 1 2 3 --device auto

Prints one JSON line per seed and a summary line (mean and standard deviation).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np


def one_seed(data: Path, subset: str, seed: int, members: int, epochs: int, device: str, threads: int
             ) -> dict[str, Any]:
    import torch

    from apps.maintenance.data import load_history
    from apps.maintenance.features import make_windows, nasa_score
    from apps.maintenance.recorded import fit_recorded

    torch.set_num_threads(threads)
    started = time.perf_counter()
    fit = fit_recorded(load_history(data / f"train_{subset}.txt"), members, epochs, seed, device,
                       show_progress=False)
    x, y, _ = make_windows(load_history(data / f"test_{subset}.txt"), fit.rul.spec, last_only=True)
    mean, lo, hi = fit.rul.predict_windows(x)
    w = fit.rul.tree_weight
    net_mean = fit.rul.net_predictions(x).mean(axis=0)  # each part of the blend alone, to see what it does on test
    trees = fit.rul.trees.predict(x) if fit.rul.trees is not None else net_mean

    def rmse(pred: np.ndarray) -> float:
        return round(float(np.sqrt(np.mean((pred - y) ** 2))), 3)

    return {"seed": seed, "rmse": rmse(mean), "nasa_score": round(nasa_score(y, mean), 1),
            "band_coverage": round(float(np.mean((y >= lo) & (y <= hi))), 3), "tree_weight": w,
            "test_rmse_nets_only": rmse(net_mean), "test_rmse_trees_only": rmse(trees),
            "oof_test_like_rmse": fit.blend["test_like_rmse_by_tree_weight"][f"{w:.1f}"],
            "seconds": round(time.perf_counter() - started, 1), "device": device}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with train_/test_/RUL_<subset>.txt")
    parser.add_argument("--subset", default="FD001")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--members", type=int, default=5, help="nets in the final ensemble (the benchmark's 5)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's fixed epochs")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=None, help="seeds trained at once (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per seed")
    args = parser.parse_args(argv)
    missing = [n for n in (f"train_{args.subset}.txt", f"test_{args.subset}.txt", f"RUL_{args.subset}.txt")
               if not (args.data / n).is_file()]
    if missing:
        parser.error(f"{args.data} lacks {', '.join(missing)} (the C-MAPSS files of {args.subset})")
    from apps.maintenance.recorded import FIXED_EPOCHS

    epochs = args.epochs or FIXED_EPOCHS
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs or len(args.seeds)) as pool:
        futures = [pool.submit(one_seed, args.data, args.subset, s, args.members, epochs, args.device, args.threads)
                   for s in args.seeds]
        for fut in as_completed(futures):  # each seed's line as soon as it is done
            results.append(fut.result())
            print(json.dumps(results[-1]), flush=True)
    summary = {k: {"mean": round(float(np.mean([r[k] for r in results])), 3),
                   "sd": round(float(np.std([r[k] for r in results], ddof=1)), 3) if len(results) > 1 else None}
               for k in ("rmse", "nasa_score", "band_coverage", "test_rmse_nets_only", "test_rmse_trees_only")}
    print(json.dumps({"summary": summary, "seeds": sorted(r["seed"] for r in results), "members": args.members,
                      "epochs": epochs}))


if __name__ == "__main__":
    main()
