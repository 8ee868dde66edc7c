"""The `nn-playground` command line: check a spec, serve the app, train headless."""

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app.settings import Settings

if TYPE_CHECKING:
    import torch


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
    serve.add_argument(
        "--data-dir",
        type=Path,
        help="where the database and checkpoints live (MNIST is found where set-up put it)",
    )
    serve.set_defaults(run=_serve)

    train = commands.add_parser("train", help="train a spec in the terminal (MNIST by default)")
    _add_spec_source(train)
    _add_train_options(train)
    train.set_defaults(run=_train)
    return parser


def _add_spec_source(command: argparse.ArgumentParser) -> None:
    from app.nn import PRESET_NAMES  # noqa: PLC0415 (torch loads only for commands that need it)

    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("spec", nargs="?", type=Path, help="a JSON spec file")
    source.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help="a preset network instead of a file (train: with the preset's training config)",
    )


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
    overrides = {
        key: value
        for key, value in (("host", args.host), ("port", args.port), ("data_dir", args.data_dir))
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        for issue in error.errors():
            name = "NNP_" + "_".join(str(part) for part in issue["loc"]).upper()
            print(f"setting {name}: {issue['msg']}", file=sys.stderr)
        return 2
    problem = data_dir_problem(settings.data_dir)
    if problem is not None:
        print(
            f"nn-playground: cannot use the data directory {settings.data_dir}: {problem}; "
            "choose another one with --data-dir or NNP_DATA_DIR, or fix its permissions",
            file=sys.stderr,
        )
        return 2
    from app.data import MnistDataError, cache_path  # noqa: PLC0415 (checks first: fails fast)
    from app.training import DeviceError, resolve_device  # noqa: PLC0415

    try:
        mnist_dir = settings.mnist_cache_dir()  # exists with the right size; loading checks more
        device = resolve_device(settings.device)
    except (MnistDataError, DeviceError) as error:
        print(f"nn-playground: cannot serve: {error}", file=sys.stderr)
        return 2
    logger = _show_app_logs()
    if settings.executor == "ray" and not _join_ray(settings):
        return 2
    import uvicorn  # noqa: PLC0415

    from app.main import create_app  # noqa: PLC0415
    from app.startup_gc import freeze_startup_objects  # noqa: PLC0415

    logger.info("MNIST: %s", cache_path(mnist_dir))
    logger.info(_training_threads_line(settings.torch_threads, device))
    app = create_app(settings)
    freeze_startup_objects()  # after create_app: the app's own start-up objects too
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_body_bytes,  # a drawing is at most as large as a request body
        ws_per_message_deflate=False,  # compressing feature maps per viewer costs more CPU
        timeout_keep_alive=75,  # longer than browsers and proxies keep idle connections
    )
    return 0


def _join_ray(settings: Settings) -> bool:
    """Join (or start) the Ray cluster before serving; False, with one line, if that fails."""
    try:
        from app.training.ray_executor import RayConnectError, connect  # noqa: PLC0415
    except ImportError:
        print(
            "nn-playground: NNP_EXECUTOR=ray needs the ray extra: pip install '.[ray]'",
            file=sys.stderr,
        )
        return False
    try:
        connect(settings)
    except RayConnectError as error:
        print(f"nn-playground: cannot serve: {error}", file=sys.stderr)
        return False
    return True


def _show_app_logs() -> logging.Logger:
    """Show the app's log lines (INFO and up) on stderr, formatted like uvicorn's; the CLI's logger.

    uvicorn configures only its own loggers; without this the app's INFO lines would be lost.
    """
    from uvicorn.logging import DefaultFormatter  # noqa: PLC0415

    app_logger = logging.getLogger("app")
    if not app_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
        app_logger.addHandler(handler)
        app_logger.setLevel(logging.INFO)
        app_logger.propagate = False  # one line each, whatever handlers the root logger has
    return logging.getLogger(__name__)


def _training_threads_line(torch_threads: int, device: "torch.device") -> str:
    """The start-up line that says how many CPU threads a served run trains with, and why."""
    from app.training.device import available_cores, default_thread_count  # noqa: PLC0415

    if device.type != "cpu":
        return f"training runs on {device}"
    cores = available_cores()
    if torch_threads > 0:
        count, why = torch_threads, f"NNP_TORCH_THREADS={torch_threads}"
    else:
        count = default_thread_count("serve")
        why = "serve: all cores but one, the web server keeps one; NNP_TORCH_THREADS overrides"
    return (
        f"training uses {count} CPU thread{'s' if count != 1 else ''} of {cores} "
        f"core{'s' if cores != 1 else ''} ({why})"
    )


def data_dir_problem(data_dir: Path) -> str | None:
    """Why the server could not keep its runs in `data_dir` (created if missing), or None."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir, prefix=".write-check-") as probe:
            probe.write(b"nn-playground")
            probe.flush()
            os.fsync(probe.fileno())
    except FileExistsError:
        return "it exists and is not a directory"
    except NotADirectoryError:
        return "a part of its path is a file, not a directory"
    except OSError as error:
        return f"it is not writable ({error.strerror or error})"
    return None


def _add_train_options(command: argparse.ArgumentParser) -> None:
    from app.training.config import OPTIMIZER_NAMES  # noqa: PLC0415 (pydantic only, no torch)

    command.add_argument(
        "--dataset",
        help="what to train on (default mnist): a name from `GET /api/datasets`, or a 2-D "
        'problem with parameters as JSON, e.g. \'{"name": "spiral", "noise": 0.1}\'',
    )
    command.add_argument("--epochs", type=int, help="passes over the training set")
    command.add_argument("--batch-size", type=int, help="digits per step")
    command.add_argument("--optimizer", choices=OPTIMIZER_NAMES)
    command.add_argument("--lr", type=float, help="learning rate (default: the optimizer's)")
    command.add_argument("--max-steps", type=int, help="stop after this many steps")
    command.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    command.add_argument(
        "--threads", type=int, help="CPU threads (default: NNP_TORCH_THREADS, else every core)"
    )
    command.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="any other training-config field, e.g. --set schedule=cosine (repeatable)",
    )
    command.add_argument(
        "--data-dir",
        type=Path,
        help="where MNIST is looked for after NNP_MNIST_DIR (then the checkout's data/ "
        "and ~/.cache/nn-playground)",
    )
    command.add_argument(
        "--json", action="store_true", help="print one JSON event per line, then a summary"
    )


def _train_config_fields(args: argparse.Namespace) -> dict[str, object] | None:
    """The preset's default config fields overridden by those given on the command line; None
    (after a message) if one is malformed."""
    fields: dict[str, object] = {}
    for item in args.set:
        name, equals, text = item.partition("=")
        if not equals or not name.strip():
            print(f"--set {item!r}: write FIELD=VALUE, e.g. --set schedule=cosine", file=sys.stderr)
            return None
        try:
            fields[name.strip().replace("-", "_")] = json.loads(text)
        except json.JSONDecodeError:
            fields[name.strip().replace("-", "_")] = text
    named = {
        "dataset": _json_or_text(args.dataset) if args.dataset is not None else None,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "max_steps": args.max_steps,
    }
    fields |= {name: value for name, value in named.items() if value is not None}
    if not args.preset:
        return fields
    from app.nn import preset_config  # noqa: PLC0415

    defaults: dict[str, object] = preset_config(args.preset)
    if "optimizer" in fields and "lr" not in fields:
        defaults.pop("lr", None)  # another optimizer starts from its own default lr
    return defaults | fields


def _json_or_text(text: str) -> object:
    """A JSON object given on the command line, else the text itself."""
    if text.lstrip().startswith("{"):
        try:
            value: object = json.loads(text)
        except json.JSONDecodeError:
            return text
        return value
    return text


def _train(args: argparse.Namespace) -> int:
    from app.data import MnistDataError  # noqa: PLC0415
    from app.nn import SpecError  # noqa: PLC0415
    from app.training import ConfigError, DeviceError, TrainingError, parse_config  # noqa: PLC0415
    from app.training.headless import train_headless  # noqa: PLC0415

    raw = _load_spec_source(args)
    fields = _train_config_fields(args)
    if fields is None:
        return 2
    overrides = {
        key: value
        for key, value in (("device", args.device), ("data_dir", args.data_dir))
        if value is not None
    }
    try:
        config = parse_config(fields)
        result = train_headless(
            raw, config, Settings(**overrides), json_lines=args.json, threads=args.threads
        )
    except SpecError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        return 2
    except ConfigError as error:
        for field, message in error.issues:
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    except (DeviceError, MnistDataError) as error:
        print(error, file=sys.stderr)
        return 2
    except TrainingError as error:
        print(f"training failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
