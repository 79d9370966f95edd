#!/usr/bin/env bash
# The layer cache: cold vs warm `pyslim analyze --json` per image, and the cache's size next to
# the image's layer bytes. A benchmark, not a test: it prints, it asserts nothing.
#
#   bench/cache.sh [IMAGE...]        # files or daemon image names
#   PYSLIM=target/release/pyslim RUNS=3 bench/cache.sh bench/out/big.tar pyslim-fixture/fat-app:latest
#
# Per image: one cold run (empty cache: reads every layer and stores it), then RUNS warm runs;
# wall time, CPU (user+sys) and peak RSS from /usr/bin/time; whether the warm JSON is byte for
# byte the cold one; the cache's bytes; the image's stored layer bytes (`blob_bytes` of the
# JSON: compressed where the image stores layers compressed) and, for images whose layers are
# stored uncompressed, what `gzip -6` makes of them (the size a registry would serve).
set -euo pipefail
cd "$(dirname "$0")/.."
PYSLIM=${PYSLIM:-target/release/pyslim}
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYSLIM_CACHE_DIR="$work/cache"
unset PYSLIM_NO_CACHE

timed() { # label, then the command: appends "label wall cpu rss" to $work/rows
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out.json" 2>"$work/err" || true
  read -r wall user sys rss <"$work/time"
  printf '%-6s %7.2f s wall %7.2f s cpu %8d KB rss\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$rss"
}

for image in "$@"; do
  echo "== $image"
  rm -rf "$PYSLIM_CACHE_DIR"
  "$PYSLIM" analyze --json --no-cache "$image" >"$work/nocache.json"
  timed cold "$PYSLIM" analyze --json "$image"
  cp "$work/out.json" "$work/cold.json"
  for i in $(seq 1 "$RUNS"); do
    timed warm "$PYSLIM" analyze --json "$image"
  done
  if cmp -s "$work/cold.json" "$work/out.json" && cmp -s "$work/nocache.json" "$work/out.json"; then
    echo "warm JSON = cold JSON = --no-cache JSON"
  else
    echo "warm JSON DIFFERS"
  fi
  cache_bytes=$(du -sb "$PYSLIM_CACHE_DIR" | cut -f1)
  stored=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum((l.get("blob_bytes") or 0) for l in d["layers"]))' "$work/cold.json")
  echo "cache: $cache_bytes bytes; layers as stored: $stored bytes ($(echo "scale=2; 100 * $cache_bytes / $stored" | bc)%)"
  if [ -f "$image" ] && [ "${GZIP_ESTIMATE:-1}" = 1 ]; then
    gz=$(gzip -6 -c "$image" | wc -c)
    echo "the archive gzip -6: $gz bytes; cache = $(echo "scale=2; 100 * $cache_bytes / $gz" | bc)% of it"
  fi
done
