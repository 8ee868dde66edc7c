#!/usr/bin/env bash
# Set up whatever is missing for NN Playground: the project venv, its pinned Python packages, MNIST
# and (where apt can install it) Fashion-MNIST.
# Usage: scripts/setup.sh [run|test]   ("test" adds the developer tools and the browser-test packages)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-run}
venv=${NNP_VENV:-.venv}

pick_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "NN Playground needs Python 3.11 or newer on PATH" >&2
    exit 1
}

if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup: creating $venv"
    "$(pick_python)" -m venv "$venv"
fi

extras=""
[[ "$purpose" == test ]] && extras="[dev,ray]"
# Reinstall only when the dependency declarations change.
stamp="$venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)${extras}"
if [[ ! -f "$stamp" ]]; then
    echo "setup: installing Python packages (torch pinned by constraints.txt)"
    # (grep hides pip's notes about unused local index folders some machines configure)
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt \
        -e ".${extras}" 2> >(grep -v "is neither a file nor a directory" >&2)
    rm -f "$venv"/.installed-*
    touch "$stamp"
    [[ -z "$extras" ]] || touch "${stamp%"$extras"}"
fi

if [[ -f package-lock.json ]]; then
    # Front-end libraries come from npm, pinned by the lockfile; never from a CDN.
    if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
        command -v npm >/dev/null 2>&1 || { echo "NN Playground needs node and npm on PATH" >&2; exit 1; }
        echo "setup: installing front-end packages (npm ci)"
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error  # no install-time code
    fi
fi

if [[ "$purpose" == test && ! -x /usr/bin/chromium ]]; then
    # The browser tests drive Debian's Chromium; Playwright cannot download its own here.
    echo "setup: installing chromium for the browser tests"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
fi

if [[ "$purpose" == test && "${NNP_DOCKER_TESTS:-0}" == 1 ]]; then
    # The image test builds the Dockerfile with podman (no Docker engine needed).
    for tool in podman buildah debootstrap; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "setup: installing podman, buildah and debootstrap for the image tests"
            if [[ $(id -u) -eq 0 ]]; then
                apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap
            else
                sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap
            fi
            break
        fi
    done
fi

fashion_idx=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [[ -z "${NNP_FASHION_MNIST_DIR:-}" && ! -f "$fashion_idx" ]]; then
    # Fashion-MNIST is optional: Debian's dataset-fashion-mnist, installed as root or with
    # password-less sudo. Set-up never fails for it: the fetch below skips it when it is absent.
    if [[ $(id -u) -eq 0 ]]; then
        as_root=(env)
    elif sudo -n true 2>/dev/null; then
        as_root=(sudo -n env)
    else
        as_root=()
    fi
    if [[ ${#as_root[@]} -gt 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing dataset-fashion-mnist (Fashion-MNIST) with apt"
        { "${as_root[@]}" apt-get update -qq &&
            "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends dataset-fashion-mnist; } >/dev/null 2>&1 ||
            echo "setup: apt could not install dataset-fashion-mnist; going on without Fashion-MNIST"
    else
        echo "setup: not installing dataset-fashion-mnist (apt-get as root or password-less sudo" \
            "is needed); going on without Fashion-MNIST"
    fi
fi

"$venv/bin/python" -m app.data.fetch
