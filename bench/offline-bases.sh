#!/usr/bin/env bash
# Offline stand-ins for the runtime bases `pyslim propose` targets, made from the bookworm
# root file system that bench/real-image.sh debootstraps (Debian's own python3 3.11), laid
# out the way each real base is, so that a proposal built on them fails where it would fail
# on the real one:
#
#   pyslim-fixture/python-slim:3.11        python:3.11-slim: the interpreter at
#                                          /usr/local/bin/python3.11 (python3, python link to
#                                          it), none in /usr/bin; a shell and apt.
#   pyslim-fixture/distroless-python:3.11  gcr.io/distroless/python3-debian12: Debian's python
#                                          at /usr/bin/python3.11 only, no shell (sh, bash,
#                                          dash), no apt or dpkg, ENTRYPOINT the interpreter,
#                                          USER 65532 (nonroot).
#
# and builders for them, with the toolchain the fat app's Dockerfile installs already there:
#
#   pyslim-fixture/debian-builder:3.11     Debian's python3 + build-essential, python3-dev
#                                          (the builder of the distroless target: Debian's).
#   pyslim-fixture/python-bookworm:3.11    the same with python at /usr/local/bin, as
#                                          python:3.11-bookworm has it (the slim target's).
#
# Usage: bash bench/offline-bases.sh ROOTFS_TAR   (real-image.sh calls it after the app build;
# ~10 s then)
# Idempotent: an image already in the daemon is kept (docker rmi it to remake it).
set -euo pipefail

ROOTFS_TAR=${1:?usage: offline-bases.sh ROOTFS_TAR}
DEBIAN_BASE=pyslim-fixture/debian-python:base
DEBIAN_BUILDER=pyslim-fixture/debian-builder:3.11
BOOKWORM_BUILDER=pyslim-fixture/python-bookworm:3.11
SLIM_IMAGE=pyslim-fixture/python-slim:3.11
DISTROLESS_IMAGE=pyslim-fixture/distroless-python:3.11
PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# rewrite LAYOUT: the root file system on stdin rewritten to LAYOUT's shape on stdout,
# streamed (no extraction, so no root and no device files needed).
rewrite() {
  python3 - "$1" "$ROOTFS_TAR" <<'PY'
import io, sys, tarfile

layout, src = sys.argv[1], sys.argv[2]
SHELLS = {"./usr/bin/sh", "./usr/bin/dash", "./usr/bin/bash", "./usr/bin/rbash"}
NONROOT_PASSWD = b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
NONROOT_GROUP = b"nonroot:x:65532:\n"

def dropped(name):
    if layout == "slim":
        # python:3.11-slim has no interpreter in /usr/bin.
        return name in ("./usr/bin/python3", "./usr/bin/python3.11")
    # distroless: the interpreter by its versioned name only; no shell, no package manager.
    if name in SHELLS or name == "./usr/bin/python3":
        return True
    base = name.rsplit("/", 1)[-1]
    return name.startswith("./usr/bin/") and (base.startswith("apt") or base.startswith("dpkg"))

out = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.GNU_FORMAT)
with tarfile.open(src, mode="r|") as tar:
    for m in tar:
        data = tar.extractfile(m) if m.isfile() else None
        if dropped(m.name):
            if layout == "slim" and m.name == "./usr/bin/python3.11":
                # The same interpreter, where python:3.11-slim has it.
                m.name = "./usr/local/bin/python3.11"
                out.addfile(m, data)
            continue
        if layout == "distroless" and m.name in ("./etc/passwd", "./etc/group"):
            body = data.read() + (NONROOT_PASSWD if m.name == "./etc/passwd" else NONROOT_GROUP)
            m.size = len(body)
            out.addfile(m, io.BytesIO(body))
            continue
        out.addfile(m, data)
if layout == "slim":
    for name, target in (("python3", "python3.11"), ("python", "python3")):
        link = tarfile.TarInfo(f"./usr/local/bin/{name}")
        link.type, link.linkname, link.mode = tarfile.SYMTYPE, target, 0o777
        out.addfile(link)
else:
    home = tarfile.TarInfo("./home/nonroot")
    home.type, home.mode, home.uid, home.gid = tarfile.DIRTYPE, 0o700, 65532, 65532
    out.addfile(home)
out.close()
PY
}

if ! docker image inspect "$SLIM_IMAGE" >/dev/null 2>&1; then
  rewrite slim | docker import -m "python:3.11-slim layout, from Debian packages" \
    -c "$PATH_ENV" -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' - "$SLIM_IMAGE" >/dev/null
  echo "made $SLIM_IMAGE"
fi
if ! docker image inspect "$DISTROLESS_IMAGE" >/dev/null 2>&1; then
  rewrite distroless | docker import -m "distroless python3-debian12 layout, from Debian packages" \
    -c "$PATH_ENV" -c 'ENTRYPOINT ["/usr/bin/python3.11"]' -c 'USER 65532' \
    -c 'WORKDIR /home/nonroot' - "$DISTROLESS_IMAGE" >/dev/null
  echo "made $DISTROLESS_IMAGE"
fi
# docker build ARGS with the classic builder, quiet unless it fails.
quiet_build() {
  local log; log=$(mktemp)
  DOCKER_BUILDKIT=0 docker build "$@" >"$log" 2>&1 || { tail -30 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
}

# Builder stand-ins. python:3.11-bookworm has compilers and headers installed (it is built on
# buildpack-deps) and its Python at /usr/local/bin; Debian's builder has it at /usr/bin. Both
# start with the fat app's own first steps, so the classic builder's cache makes them at once
# after real-image.sh built the app (cold, apt fetches build-essential: a few minutes). Each
# ends in a step of its own, so that neither is the other's parent (a test tells the images a
# build made by the base they descend from).
TOOLCHAIN=("FROM $DEBIAN_BASE" 'ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8'
  'RUN apt-get update && apt-get install -y build-essential python3-dev')
if ! docker image inspect "$DEBIAN_BUILDER" >/dev/null 2>&1; then
  printf '%s\n' "${TOOLCHAIN[@]}" 'LABEL org.pyslim.fixture="builder: Debian python3 at /usr/bin"' \
    | quiet_build --network host -t "$DEBIAN_BUILDER" -
  echo "made $DEBIAN_BUILDER"
fi
if ! docker image inspect "$BOOKWORM_BUILDER" >/dev/null 2>&1; then
  printf '%s\n' "${TOOLCHAIN[@]}" \
    'RUN ln -s /usr/bin/python3.11 /usr/local/bin/python3.11 && ln -s python3.11 /usr/local/bin/python3 && ln -s python3 /usr/local/bin/python' \
    | quiet_build --network host -t "$BOOKWORM_BUILDER" -
  echo "made $BOOKWORM_BUILDER"
fi

# Each base runs its interpreter where the real one has it, and the distroless one has no shell.
docker run --rm --network none --entrypoint /usr/local/bin/python3 "$SLIM_IMAGE" -c 'import ssl, venv' \
  || { echo "$SLIM_IMAGE: python does not run" >&2; exit 1; }
docker run --rm --network none "$DISTROLESS_IMAGE" -c 'import os, ssl; assert not os.path.exists("/bin/sh")' \
  || { echo "$DISTROLESS_IMAGE: python does not run, or a shell is left" >&2; exit 1; }
