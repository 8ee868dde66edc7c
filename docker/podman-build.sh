#!/usr/bin/env bash
# Build the Dockerfile without a Docker engine: podman with chroot isolation, from local base images.
#
# Usage: docker/podman-build.sh [IMAGE]     (default IMAGE: localhost/nn-playground:local)
#
# Where no registry image can be pulled, the two base images are made here once and kept:
#   localhost/nnp-base-python  debootstrap minbase bookworm + python3, python3-venv (Python 3.11)
#   localhost/nnp-base-node    the same + this machine's node and npm (the ones `npm ci` uses here)
# and passed as PYTHON_BASE / NODE_BASE. pip and npm get this machine's CA bundle by a build-time
# mount. If the CPU torch wheel pinned by constraints.txt lies in NNP_TORCH_WHEELS (default: the
# folder pip's own find-links setting names), torch comes from there through a one-package index;
# otherwise from TORCH_VARIANT's.
#
# Environment: TORCH_VARIANT (cpu or cuda, as the build argument); NNP_BASE_REBUILD=1 remakes the
# base images; NNP_BUILD_ARGS adds podman build arguments (e.g. "--no-cache"); DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:-localhost/nn-playground:local}
# Bump base_revision when the base recipe changes: the tag then names a new image.
base_revision=1
python_base=localhost/nnp-base-python:bookworm-r$base_revision
node_base=localhost/nnp-base-node:bookworm-r$base_revision
mirror=${DEBIAN_MIRROR:-}  # empty: debootstrap's default mirror
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
wheels=${NNP_TORCH_WHEELS:-$(python3 -m pip config get global.find-links 2>/dev/null || true)}
torch_variant=${TORCH_VARIANT:-cpu}
default_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

for tool in podman buildah debootstrap; do
    command -v "$tool" >/dev/null || {
        echo "$0: $tool is missing (apt-get install podman buildah debootstrap)" >&2
        exit 1
    }
done

work=$(mktemp -d "${TMPDIR:-/var/tmp}/nnp-podman-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

seconds() { date +%s; }

make_python_base() {
    echo "base: debootstrap bookworm into $work/rootfs ${mirror:+from $mirror}"
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/rootfs" \
        ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        exit 1
    }
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
        "$work/rootfs/debootstrap"
    tar -C "$work/rootfs" -c . | podman import --quiet \
        --change "ENV PATH=$default_path" --change 'CMD ["/bin/bash"]' - "$python_base" >/dev/null
    rm -rf "$work/rootfs"
}

make_node_base() {
    local node npm_dir container
    node=$(command -v node) || {
        echo "$0: node is missing on this machine (the node base image copies it)" >&2
        exit 1
    }
    npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
    echo "base: $node $("$node" --version) and npm $(npm --version) over $python_base"
    container=$(buildah from --quiet "$python_base")
    buildah copy --quiet "$container" "$(readlink -f "$node")" /usr/local/bin/node >/dev/null
    buildah copy --quiet "$container" "$npm_dir" /usr/local/lib/node_modules/npm >/dev/null
    buildah run --isolation chroot "$container" -- \
        ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
    buildah run --isolation chroot "$container" -- node --version >/dev/null
    buildah commit --quiet --rm "$container" "$node_base" >/dev/null
}

start=$(seconds)
if [[ ${NNP_BASE_REBUILD:-0} == 1 ]]; then
    podman rmi --force "$node_base" "$python_base" >/dev/null 2>&1 || true
fi
podman image exists "$python_base" || make_python_base
podman image exists "$node_base" || make_node_base
echo "base images ready in $(($(seconds) - start)) s"

args=(
    --isolation=chroot --format docker --layers
    --build-arg "PYTHON_BASE=$python_base" --build-arg "NODE_BASE=$node_base"
    --build-arg "TORCH_VARIANT=$torch_variant"
    --tag "$image"
)
if [[ -f "$ca_bundle" ]]; then
    args+=(--volume "$(readlink -f "$ca_bundle"):/etc/nnp-build-ca.pem:ro")
    args+=(--build-arg CA_BUNDLE=/etc/nnp-build-ca.pem)
fi
torch_version=$(sed -n 's/^torch==//p' constraints.txt)
wheel=""
if [[ $torch_variant == cpu ]]; then
    wheel=$(find "$wheels" -maxdepth 1 -name "torch-${torch_version}+cpu-cp311-*.whl" 2>/dev/null |
        sort | head -n 1)
fi
if [[ -n "$wheel" ]]; then
    # A PEP 503 index of one file: the Dockerfile's own `pip install --index-url` path, offline.
    name=$(basename "$wheel")
    mkdir -p "$work/simple/torch"
    printf '<!DOCTYPE html><html><body><a href="file:///wheels/%s">%s</a></body></html>\n' \
        "${name//+/%2B}" "$name" >"$work/simple/torch/index.html"
    args+=(--volume "$(readlink -f "$(dirname "$wheel")"):/wheels:ro")
    args+=(--volume "$work/simple:/simple:ro" --build-arg TORCH_INDEX_URL=file:///simple)
    echo "torch: $name from $wheels"
fi
# shellcheck disable=SC2206 # NNP_BUILD_ARGS is split on purpose
args+=(${NNP_BUILD_ARGS:-})

start=$(seconds)
podman build "${args[@]}" .
echo "built $image in $(($(seconds) - start)) s"
