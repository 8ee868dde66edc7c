"""Generative adversarial networks (the `gan` task): a generator learns to make images like
the dataset's while a discriminator learns to tell them from real ones.

The model spec is the generator followed by the discriminator (parts.py splits it);
`GanTrainer` (loop.py, steering.py) trains them against each other, frames.py and health.py
make the pictures and the health verdict, `check_gan`/`train_gan` (task.py) are the task's
entry in app.training.tasks. Events: see events.py.
"""

from app.training.gan.frames import fixed_noise, generate, to_unit
from app.training.gan.health import diversity, judge, oscillating
from app.training.gan.loop import GanTrainer
from app.training.gan.parts import GanLayout, gan_issues, gan_layout, model_layout, split_gan
from app.training.gan.task import check_gan, train_gan

__all__ = [
    "GanLayout",
    "GanTrainer",
    "check_gan",
    "diversity",
    "fixed_noise",
    "gan_issues",
    "gan_layout",
    "generate",
    "judge",
    "model_layout",
    "oscillating",
    "split_gan",
    "to_unit",
    "train_gan",
]
