"""The `nn-playground` command line: check a spec, serve the app."""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `nn-playground` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except BrokenPipeError:  # `nn-playground check ... | head` closed the pipe: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nn-playground", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a spec and print its layer table")
    _add_spec_source(check)
    check.add_argument("--json", action="store_true", help="print the summary as JSON")
    check.set_defaults(run=_check)

    serve = commands.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="where MNIST, runs and checkpoints live")
    serve.set_defaults(run=_serve)
    return parser


def _add_spec_source(command: argparse.ArgumentParser) -> None:
    from app.nn import PRESET_NAMES  # noqa: PLC0415 (torch loads only for commands that need it)

    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("spec", nargs="?", type=Path, help="a JSON spec file")
    source.add_argument("--preset", choices=PRESET_NAMES, help="a preset network instead of a file")


def _load_spec_source(args: argparse.Namespace) -> object:
    """The raw spec of --preset or of the file; a file that cannot be read exits with status 2."""
    from app.nn import load_preset  # noqa: PLC0415

    if args.preset:
        return load_preset(args.preset)
    try:
        return args.spec.read_text()
    except OSError as error:
        print(f"{args.spec}: cannot read: {error.strerror}", file=sys.stderr)
        raise SystemExit(2) from None


def _check(args: argparse.Namespace) -> int:
    from app.nn import SpecError, summarize  # noqa: PLC0415

    raw = _load_spec_source(args)
    try:
        summary = summarize(raw, Settings().spec_limits())
    except SpecError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict()) if args.json else summary.table())
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from app.main import create_app  # noqa: PLC0415

    overrides = {
        key: value
        for key, value in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir))
        if value is not None
    }
    settings = Settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
