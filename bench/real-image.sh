#!/usr/bin/env bash
# Build a realistic, deliberately careless Python app image for benchmarking
# and testing pyslim, without pulling anything from Docker Hub:
#
#   debootstrap (bookworm minbase + python3) -> docker import  => pyslim-fixture/debian-python:base
#   docker build (apt build deps, venv + wheels, secrets, waste) => pyslim-fixture/fat-app:latest
#   docker save both to $OUT/*.tar and print sizes / layer / file counts.
#
# Idempotent: the rootfs tarball, the wheel download and the saved tars are
# cached under $OUT; docker's build cache covers the image build.
# Start from scratch with:  rm -rf "$OUT"; docker rmi pyslim-fixture/fat-app:latest pyslim-fixture/debian-python:base
# Needs: root, docker, debootstrap (apt-get install debootstrap), python3 + pip on the host.
# tests/propose/build.rs uses what this makes (set PYSLIM_E2E_DIR=$OUT); CI runs it.
# bench/offline-bases.sh adds the slim and distroless runtime bases and their builders.
set -euo pipefail

OUT=${OUT:-$(cd "$(dirname "$0")" && pwd)/out}
# SAVE=0 skips writing the images to tarballs (CI only needs them in the daemon).
SAVE=${SAVE:-1}
SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=pyslim-fixture/debian-python:base
APP_IMAGE=pyslim-fixture/fat-app:latest
INDEX_PORT=${INDEX_PORT:-8765}
# Top-level pins keep the image roughly reproducible (bookworm has python 3.11).
PY_PKGS=(numpy==1.26.4 pandas==2.2.3 requests==2.32.3 flask==3.0.3)
PIP_UPGRADE=pip==24.2

export DOCKER_BUILDKIT=0   # classic builder: one layer per RUN/COPY, no buildx needed
START=$SECONDS
log() { printf '\n==> %s (+%ds)\n' "$*" $((SECONDS - START)); }

mkdir -p "$OUT"
# Everything under $OUT is generated; keep it out of git without touching the repo's .gitignore.
[ -f "$OUT/.gitignore" ] || echo '*' > "$OUT/.gitignore"

# ---------------------------------------------------------------------------
# 1. Minimal bookworm rootfs with python3 + venv support, cached as a tarball.
# ---------------------------------------------------------------------------
ROOTFS_TAR=$OUT/rootfs-$SUITE-python.tar
if [ ! -f "$ROOTFS_TAR" ]; then
  log "debootstrap $SUITE minbase + python3 python3-venv"
  command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
  ROOTFS=$OUT/work/rootfs
  rm -rf "$ROOTFS"; mkdir -p "$ROOTFS"
  debootstrap --variant=minbase --include=python3,python3-venv \
    "$SUITE" "$ROOTFS" "$MIRROR" > "$OUT/work/debootstrap.log" 2>&1 \
    || { tail -20 "$OUT/work/debootstrap.log" >&2; exit 1; }
  # Mimic the official debian image: no downloaded .debs, no apt lists, and
  # nothing copied from the build host (resolv.conf/hostname are bind-mounted by docker).
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  : > "$ROOTFS/etc/resolv.conf"; echo localhost > "$ROOTFS/etc/hostname"
  tar --numeric-owner -C "$ROOTFS" \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$ROOTFS"
else
  log "rootfs cached: $ROOTFS_TAR"
fi

# ---------------------------------------------------------------------------
# 2. Import it as a one-layer base image (stands in for python:3.11-slim).
# ---------------------------------------------------------------------------
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "docker import -> $BASE_IMAGE"
  docker import -m "debootstrap $SUITE minbase + python3" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["python3"]' "$ROOTFS_TAR" "$BASE_IMAGE"
else
  log "$BASE_IMAGE already present"
fi

# ---------------------------------------------------------------------------
# 3a. Wheels. Build containers can reach the Debian mirror over plain HTTP, but
#     HTTPS to PyPI goes through a TLS-intercepting proxy whose CA the image
#     doesn't trust. Rather than bake that CA into the image, download the
#     wheels on the host and serve them as a tiny PEP 503 index on 127.0.0.1
#     (build uses --network host). pip inside the build still downloads over
#     HTTP, so it fills /root/.cache/pip like a real `pip install` would.
# ---------------------------------------------------------------------------
WHEELS=$OUT/wheels
if [ ! -f "$WHEELS/.done" ]; then
  log "pip download wheels for cp311 manylinux"
  rm -rf "$WHEELS"; mkdir -p "$WHEELS"
  env -u PIP_FIND_LINKS python3 -m pip download -q -d "$WHEELS" \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    "${PY_PKGS[@]}" "$PIP_UPGRADE"
  touch "$WHEELS/.done"
fi
# simple/<normalized-name>/<file>.whl; http.server's directory listing is a valid simple index page.
INDEX=$OUT/index
rm -rf "$INDEX"; mkdir -p "$INDEX/simple"
for whl in "$WHEELS"/*.whl; do
  f=$(basename "$whl")
  name=$(echo "${f%%-*}" | tr 'A-Z' 'a-z' | sed 's/[_.]/-/g')
  mkdir -p "$INDEX/simple/$name"; ln -s "$whl" "$INDEX/simple/$name/$f"
done

# The index server: plain http.server, plus a long Cache-Control on wheels so pip caches them.
python3 - "$INDEX" "$INDEX_PORT" > "$OUT/index-server.log" 2>&1 <<'PY' &
import functools, http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        if self.path.endswith(".whl"):
            self.send_header("Cache-Control", "public, max-age=31536000")
        super().end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])),
    functools.partial(H, directory=sys.argv[1])).serve_forever()
PY
INDEX_PID=$!
trap 'kill $INDEX_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$INDEX_PORT/simple/" >/dev/null && break; sleep 0.1
done
curl -fs "http://127.0.0.1:$INDEX_PORT/simple/numpy/" >/dev/null \
  || { echo "local index on port $INDEX_PORT did not come up (set INDEX_PORT?)" >&2; cat "$OUT/index-server.log" >&2; exit 1; }

# ---------------------------------------------------------------------------
# 3b. Build context: a tiny app, a committed .env, a fake SSH key.
#     Written every run (same content => build cache still hits).
# ---------------------------------------------------------------------------
CTX=$OUT/ctx
mkdir -p "$CTX/app"
cat > "$CTX/app/app.py" <<'EOF'
import flask
import pandas as pd

app = flask.Flask(__name__)

@app.route("/")
def index():
    df = pd.DataFrame({"x": [1, 2, 3]})
    return df.describe().to_html()

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)
EOF
printf '%s\n' "${PY_PKGS[@]}" > "$CTX/app/requirements.txt"
printf 'API_TOKEN=fake-not-a-secret-0000\nDEBUG=1\n' > "$CTX/app/.env"
# Clearly fake key; the marker is assembled at runtime so secret scanners
# don't flag this script itself.
PEM="OPENSSH PRIVATE KEY"
printf -- '-----BEGIN %s-----\nZmFrZS1rZXktZm9yLXB5c2xpbS10ZXN0cy1ub3QtYS1yZWFsLWtleQ==\n-----END %s-----\n' \
  "$PEM" "$PEM" > "$CTX/id_rsa"

# A "real user's" Dockerfile: every mistake here is on purpose.
# (Package pins are repeated literally; keep them in sync with PY_PKGS/PIP_UPGRADE.)
cat > "$CTX/Dockerfile" <<'EOF'
FROM pyslim-fixture/debian-python:base
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# build toolchain + headers, apt lists left behind
RUN apt-get update && apt-get install -y build-essential python3-dev
# venv + wheels; pip cache left in /root/.cache/pip
ARG PIP_INDEX_URL
ARG PIP_TRUSTED_HOST
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install numpy==1.26.4 pandas==2.2.3 requests==2.32.3 flask==3.0.3
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv
WORKDIR /app
# app code together with its .env (fake credential)
COPY app/ /app/
# a key needed "only during the build"...
COPY id_rsa /root/.ssh/id_rsa
# upgrade pip + tweak activate: rewrites files from the venv layer
RUN pip install --upgrade pip==24.2 && sed -i 's/(venv)/(app)/' /opt/venv/bin/activate
# touching a big file copies it into a new layer unchanged
RUN touch /opt/venv/lib/python3.11/site-packages/numpy.libs/*
# ...and "removed" later: still in the earlier layer
RUN rm -f /root/.ssh/id_rsa
EXPOSE 5000
CMD ["python", "app.py"]
EOF

# ---------------------------------------------------------------------------
# 3c. Build (layers are cached by docker, so reruns take seconds).
# ---------------------------------------------------------------------------
log "docker build -> $APP_IMAGE"
docker build --network host \
  --build-arg PIP_INDEX_URL="http://127.0.0.1:$INDEX_PORT/simple" \
  --build-arg PIP_TRUSTED_HOST=127.0.0.1 \
  -t "$APP_IMAGE" "$CTX" > "$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log" >&2; exit 1; }
kill $INDEX_PID 2>/dev/null || true

# The bases proposals build on (python:3.11-slim, distroless python3 and their builders), in
# their layout; the builders reuse the build cache of the app's first steps.
log "offline bases for proposals"
bash "$(dirname "$0")/offline-bases.sh" "$ROOTFS_TAR"

# ---------------------------------------------------------------------------
# 4. docker save, only when the image changed since the last save.
# ---------------------------------------------------------------------------
save() {  # save IMAGE FILE
  local id; id=$(docker image inspect -f '{{.Id}}' "$1")
  if [ -f "$2" ] && [ "$(cat "$2.id" 2>/dev/null)" = "$id" ]; then
    log "$2 up to date"; return
  fi
  log "docker save $1 -> $2"
  docker save "$1" -o "$2.tmp" && mv "$2.tmp" "$2" && echo "$id" > "$2.id"
}
if [ "$SAVE" = 1 ]; then
  save "$BASE_IMAGE" "$OUT/debian-python.tar"
  save "$APP_IMAGE" "$OUT/fat-app.tar"
fi

# ---------------------------------------------------------------------------
# 5. Numbers to quote.
# ---------------------------------------------------------------------------
log "summary"
docker images "pyslim-fixture/*"
summary() {  # summary IMAGE SAVED_TAR
  echo
  echo "## $1  ($2, $(du -h "$2" | cut -f1))"
  echo "history entries: $(docker history -q "$1" | wc -l)," \
       "non-empty: $(docker history --format '{{.Size}}' "$1" | grep -cv '^0B$')"
  # layers and per-layer tar entries, straight from the saved archive
  python3 - "$2" <<'PY'
import json, sys, tarfile
outer = tarfile.open(sys.argv[1])
layers = json.load(outer.extractfile("manifest.json"))[0]["Layers"]
total = 0
for i, name in enumerate(layers, 1):
    entries = tarfile.open(fileobj=outer.extractfile(name)).getmembers()
    files = sum(m.isfile() for m in entries)
    wh = sum(m.name.rsplit("/", 1)[-1].startswith(".wh.") for m in entries)
    size = sum(m.size for m in entries if m.isfile())
    total += len(entries)
    print(f"  layer {i:2}: {len(entries):6} entries {files:6} files {wh:3} whiteouts {size/1e6:8.1f} MB")
print(f"layers: {len(layers)}, tar entries: {total}")
PY
}
if [ "$SAVE" = 1 ]; then
  summary "$BASE_IMAGE" "$OUT/debian-python.tar"
  summary "$APP_IMAGE" "$OUT/fat-app.tar"
fi
log "done in $((SECONDS - START))s"
