#!/usr/bin/env bash
# Proves the model build is reproducible: builds twice and compares the
# sha256 of every artifact, then reports whether the result equals the
# committed files. Exit 0 only if both builds are byte-identical.
#
#   check-reproducible.sh            the committed models
#   check-reproducible.sh --minilm   minilm too
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
models="$(dirname "$here")"
dirs=(wine vibration-anomaly)
[ "${1:-}" = "--minilm" ] && dirs+=(minilm)

checksums() {
  (cd "$models" && find "${dirs[@]}" -type f ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum)
}

build() {
  bash "$here/build.sh" >/dev/null
  [ "${1:-}" = "--minilm" ] && bash "$here/build.sh" --minilm >/dev/null
  return 0
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "[models] build 1"
build "${1:-}"
checksums > "$tmp/first"
echo "[models] build 2"
build "${1:-}"
checksums > "$tmp/second"

if ! diff -u "$tmp/first" "$tmp/second"; then
  echo "[models] NOT reproducible: the two builds differ (above)" >&2
  exit 1
fi
echo "[models] reproducible: $(wc -l < "$tmp/first") files byte-identical across two builds"
cat "$tmp/first"

if git -C "$models" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  changed="$(git -C "$models" status --porcelain -- "${dirs[@]}")"
  if [ -z "$changed" ]; then
    echo "[models] the build reproduces the committed artifacts"
  elif ! grep -qv '^??' <<<"$changed"; then
    echo "[models] note: some artifacts are not committed yet:"
    echo "$changed"
  else
    echo "[models] note: the build differs from the committed artifacts (uncommitted or changed):"
    echo "$changed"
  fi
fi
