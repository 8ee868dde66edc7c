"""The image's HEALTHCHECK: exit 0 when the app in this container answers /healthz with ok."""

import json
import os
import sys
import urllib.request

WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def main() -> int:
    """Ask /healthz on the port and address the server listens on; print why on failure."""
    host = os.environ.get("NNP_HOST", "127.0.0.1")
    if host in WILDCARDS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    url = f"http://{host}:{os.environ.get('NNP_PORT', '8000')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = json.load(response)
    except (OSError, ValueError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"{url}: {body}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
