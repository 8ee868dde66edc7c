#!/usr/bin/env bash
# Set up whatever is missing for NN Playground: the project venv, its pinned Python packages, and MNIST.
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
[[ "$purpose" == test ]] && extras="[dev]"
# Reinstall only when the dependency declarations change.
stamp="$venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)${extras}"
if [[ ! -f "$stamp" ]]; then
    echo "setup: installing Python packages (torch pinned by constraints.txt)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".${extras}"
    rm -f "$venv"/.installed-*
    touch "$stamp"
    [[ -z "$extras" ]] || touch "${stamp%"$extras"}"
fi

"$venv/bin/python" -m app.data.fetch
