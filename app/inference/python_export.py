"""A run's model as one standalone, readable Python file: the network as a torch.nn.Module,
layer by layer with every size written out, and a `main` that trains it as the run did (on
MNIST's pickle) or, where that is not written out, loads the weights and runs a batch."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from app.data import mean_std
from app.data.dataset import TaskKind
from app.data.registry import dataset_key
from app.inference.codegen.helpers import HELPERS
from app.inference.codegen.layers import LAYER_WRITERS, Context
from app.inference.codegen.mains import TRAIN_MAIN, forward_main, note
from app.inference.codegen.source import LINE_LENGTH, call, literal, shape, with_comment
from app.inference.codegen.training import training_source
from app.inference.export import WHOLE, model_part
from app.nn import DEFAULT_LIMITS, LAYER_KINDS, LayerSummary, SpecLimits, build_model
from app.training import parse_config
from app.training.config import TrainConfig
from app.training.objectives import objective_for
from app.training.task_params import task_name

TRAINABLE = ("classify", "autoencode")  # what a script's main trains (on MNIST)


def python_script(
    spec: dict[str, Any],
    config: dict[str, Any],
    *,
    title: str,
    part: str = WHOLE,
    limits: SpecLimits = DEFAULT_LIMITS,
) -> str:
    """The script for a run's model (or one of its parts; UnknownPartError names those there
    are), titled `title` (the model's name and the run)."""
    built = build_model(spec, limits)
    train_config = parse_config(config)
    piece = model_part(built.module, built.summary, config, part)
    indices = [int(key) for key in piece.module._modules]  # the top-level layers, by position
    layers = [built.spec.layers[index] for index in indices]
    rows = [built.summary.layers[index] for index in indices]
    dataset = dataset_key(train_config.dataset)
    task = task_name(train_config.task)
    trains = task in TRAINABLE and dataset == "mnist"
    if dataset == "mnist":  # completed as a run's is (an autoencoder's pixels stay in 0..1)
        train_config = objective_for(train_config, TaskKind.CLASSIFICATION).fit(train_config)
    trains = trains and part == WHOLE and math.prod(piece.input_shape) == 28 * 28
    helpers: set[str] = {"read_mnist"} if trains else set()
    model = _model_class(layers, rows, piece.input_shape, built.spec.weight_init, helpers)
    input_shape, output_shape = shape(piece.input_shape), shape(rows[-1].output_shape)
    if trains:
        main = (
            training_source(train_config, task, output_shape).strip()
            + "\n\n\n"
            + TRAIN_MAIN.strip()
        )
    else:
        reason = "dataset" if task in TRAINABLE and part == WHOLE else task
        text = note(reason, dataset, part)
        main = forward_main(text, input_shape, output_shape)
    header = _header(title, part, train_config, trains) + "\n\n" + _imports(trains)
    sections = [
        _constants(train_config, piece.input_shape, trains),
        *(HELPERS[name] for name in sorted(helpers)),
        model,
        _prepare(train_config) if trains else "",
        LOAD_WEIGHTS,
        main,
        'if __name__ == "__main__":\n    main()',
    ]
    body = "\n\n\n".join(section.strip("\n") for section in sections if section)
    return f"{header}\n\n{body}\n"


def _header(title: str, part: str, config: TrainConfig, trains: bool) -> str:
    what = "model" if part == WHOLE else f"{part} (part of the model)"
    lines = [f'"""{title}: the {what} from NN Playground, in plain PyTorch.', ""]
    if trains:
        lines += [
            "Train it as the run did, or evaluate the run's weights (the safetensors export):",
            "",
            "    python this_file.py --data mnist.pkl.gz",
            "    python this_file.py --data mnist.pkl.gz --weights model.safetensors --epochs 0",
            "",
            *textwrap.wrap(
                f"The run's config: {config.epochs} epochs, batch {config.batch_size}, "
                f"{config.optimizer} lr {config.lr!r}, schedule {config.schedule}, loss "
                f"{config.loss}. Needs torch (safetensors for --weights). Simplified from "
                f"the playground: {', '.join(_simplified(config))}.",
                LINE_LENGTH,
            ),
        ]
    else:
        lines += [
            "Build it and run it on a batch, with the run's weights if you give them:",
            "",
            "    python this_file.py --weights model.safetensors",
            "",
            "Needs torch (safetensors for --weights).",
        ]
    return "\n".join([*lines, '"""'])


def _simplified(config: TrainConfig) -> list[str]:
    """What the script leaves out of the run's training, for its header."""
    left_out = ["other random numbers for the same seed", "no fused optimizer kernels"]
    if config.precision == "bf16":
        left_out.append("fp32 instead of bf16 autocast")
    if config.channels_last:
        left_out.append("no channels_last memory format")
    if config.early_stopping_patience:
        left_out.append("no early stopping")
    if config.eval_limit:
        left_out.append("evaluation on whole splits")
    return left_out


def _imports(trains: bool) -> str:
    lines = ["import argparse"]
    if trains:
        lines += ["import gzip", "import math", "import pickle"]
    lines += ["", "import torch"]
    if trains:
        lines.append("import torch.nn.functional as F")
    return "\n".join([*lines, "from torch import nn"])


def _constants(config: TrainConfig, input_shape: tuple[int, ...], trains: bool) -> str:
    lines = [f"INPUT_SHAPE = {literal(tuple(input_shape))}  # one sample", f"SEED = {config.seed}"]
    if trains:
        lines += [
            f"EPOCHS = {config.epochs}",
            f"BATCH_SIZE = {config.batch_size}",
            f"LR = {config.lr!r}  # the peak for onecycle",
            f"TRAIN_SUBSET = {config.train_subset!r}  # None: every training digit",
            f"MAX_STEPS = {config.max_steps!r}",
        ]
        if config.regularization != "none" and config.regularization_rate:
            lines.append(f"RATE = {config.regularization_rate!r}  # {config.regularization}")
        if config.normalize:
            mean, std = mean_std()
            lines.append(f"MEAN, STD = {mean!r}, {std!r}  # MNIST's pixels, to standardise")
    return "\n".join(lines)


def _prepare(config: TrainConfig) -> str:
    scaled = "((images - MEAN) / STD)" if config.normalize else "images"
    return (
        "def prepare(images: torch.Tensor) -> torch.Tensor:\n"
        '    """Images (N, 28, 28) in 0..1 -> the model\'s input (N, *INPUT_SHAPE)."""\n'
        f"    return {scaled}.reshape(-1, *INPUT_SHAPE)\n"
    )


LOAD_WEIGHTS = '''
def load_weights(model: nn.Module, path: str) -> None:
    """Load the run's weights (the playground's safetensors export); every name must match."""
    from safetensors.torch import load_file  # only needed here

    model.load_state_dict(load_file(path), strict=True)
'''


def _model_class(
    layers: Sequence[BaseModel],
    rows: Sequence[LayerSummary],
    input_shape: tuple[int, ...],
    model_init: Any,
    helpers: set[str],
) -> str:
    """class Model(nn.Sequential) with the layers written out, then any weight initialisation."""
    params = sum(row.params for row in rows)
    first = rows[0].index
    lines = [
        "class Model(nn.Sequential):",
        f'    """{shape(input_shape)} -> {shape(rows[-1].output_shape)}, {params:,} parameters."""',
        "",
        "    def __init__(self) -> None:",
    ]

    def write_block(
        block: Sequence[BaseModel], block_rows: Sequence[LayerSummary], indent: int
    ) -> list[str]:
        written: list[str] = []
        for layer, row in zip(block, block_rows, strict=True):
            ctx = Context(indent, write_block, helpers)
            lines_of = LAYER_WRITERS[row.type](layer, row, ctx)
            written += with_comment(lines_of, shape(row.output_shape), indent)
        return written

    if first == 0:
        lines += ["        super().__init__(", f"            # input {shape(input_shape)}"]
        lines += [*write_block(layers, rows, 3), "        )"]
    else:  # a part that starts further in keeps the layers' names, so the weights load
        lines += ["        super().__init__()", f"        # input {shape(input_shape)}"]
        for layer, row in zip(layers, rows, strict=True):
            expression = LAYER_WRITERS[row.type](layer, row, Context(0, write_block, helpers, ""))
            added = call("self.add_module", [literal(str(row.index)), "\n".join(expression)], 2)
            lines += with_comment(added, shape(row.output_shape), 2)
    lines += _initialise(layers, rows, model_init, first, helpers)
    return "\n".join(lines)


def _initialise(
    layers: Sequence[BaseModel],
    rows: Sequence[LayerSummary],
    model_init: Any,
    first: int,
    helpers: set[str],
) -> list[str]:
    """initialise(...) calls for every layer the spec gives a weight_init (as app.nn.init)."""
    calls: list[str] = []

    def visit(block: Sequence[BaseModel], block_rows: Sequence[LayerSummary], where: str) -> None:
        for position, (layer, row) in enumerate(zip(block, block_rows, strict=True)):
            target = f"{where}[{position}]"
            scheme = getattr(layer, "weight_init", None) or model_init
            if LAYER_KINDS[row.type].has_weights and scheme and scheme.scheme != "default":
                calls.append(_init_call(target, scheme))
            if row.type == "residual":
                projected = row.input_shape != row.output_shape
                if projected and model_init and model_init.scheme != "default":
                    calls.append(_init_call(f"{target}.projection", model_init))
                visit(getattr(layer, "layers"), row.children, f"{target}.body")  # noqa: B009

    visit(layers, rows, "self")
    if calls:
        helpers.add("initialise")
    return [f"        {call}" for call in calls]


def _init_call(target: str, scheme: Any) -> str:
    args = f"{literal(scheme.scheme)}, {literal(scheme.nonlinearity)}, {scheme.std!r}"
    return f"initialise({target}, {args})"
