"""Entry point of the model build: `python build_all.py [--only NAME ...]`.

Run through build.sh, which pins the BLAS thread count and PYTHONHASHSEED.
"""

from __future__ import annotations

import argparse
import json
import sys

import common

BUILDERS = ("wine", "vibration-anomaly", "minilm")
DEFAULT = ("wine", "vibration-anomaly")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=BUILDERS, help="models to build (default: the committed ones)")
    args = parser.parse_args()
    common.require_single_thread_blas()
    names = args.only or list(DEFAULT)
    summaries = []
    for name in names:
        out_dir = common.MODELS_DIR / name
        out_dir.mkdir(parents=True, exist_ok=True)
        print(f"[models] building {name} -> {common.relpath(out_dir)}", flush=True)
        if name == "wine":
            import wine

            summaries.append(wine.build(out_dir))
        elif name == "vibration-anomaly":
            import vibration

            summaries.append(vibration.build(out_dir))
        elif name == "minilm":
            import minilm

            summaries.append(minilm.build(out_dir))
    print(json.dumps(summaries, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
