"""Learning-rate schedules of G's and D's optimizers (``train.lr_decay``).

A schedule is a function of the optimizer's update counter, as Keras calls it.
The trainer's players take different numbers of updates per train step (G's
K inner updates, D's ``d_steps``), so each schedule is given its player's
updates per step and decays over train steps, the unit every config counts in.
"""

import math

import keras
from keras import ops

from keras_attngan.core.registry import lookup


@keras.saving.register_keras_serializable(package="keras_attngan")
class PhasedCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from `learning_rate` to ``alpha * learning_rate``, restarted at each phase.

    The half cosine of SGDR (Loshchilov and Hutter, 2017, "SGDR: stochastic
    gradient descent with warm restarts"), one per phase of the run: a
    super-resolution run decays over its pixel-loss phase and again over its
    adversarial phase, as SRGAN and ESRGAN train each phase with its own
    schedule. A rate that has decayed to nearly zero at the end of the pixel
    phase lets G settle into the minimum it found.

    Args:
        learning_rate: the rate at the start of each phase.
        steps: the train step at which the last phase ends (``train.steps``).
        phases: the train steps at which phases start, ascending, from 0.
        updates_per_step: the optimizer's updates per train step.
        alpha: the rate at the end of each phase, as a fraction of `learning_rate`.
    """

    def __init__(self, learning_rate, steps, phases=(0,), updates_per_step=1, alpha=0.0):
        phases = [int(start) for start in phases]
        if not phases or phases[0] != 0 or phases != sorted(set(phases)) or phases[-1] >= steps:
            raise ValueError(
                "`phases` should be ascending train steps that start at 0 and stay below "
                f"`steps`. Received: phases={phases}, steps={steps}"
            )
        if not 0 <= alpha <= 1:
            raise ValueError(f"`alpha` should be in [0, 1]. Received: alpha={alpha!r}")
        self.learning_rate = float(learning_rate)
        self.steps = int(steps)
        self.phases = phases
        self.updates_per_step = int(updates_per_step)
        self.alpha = float(alpha)

    def __call__(self, iterations):
        step = ops.cast(iterations // self.updates_per_step, "float32")
        start, end = 0.0, float(self.steps)
        for phase_start, phase_end in zip(self.phases, self.phases[1:] + [self.steps]):
            inside = step >= phase_start
            start = ops.where(inside, float(phase_start), start)
            end = ops.where(inside, float(phase_end), end)
        progress = ops.clip((step - start) / (end - start), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        return self.learning_rate * (self.alpha + (1.0 - self.alpha) * cosine)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "steps": self.steps,
            "phases": self.phases,
            "updates_per_step": self.updates_per_step,
            "alpha": self.alpha,
        }


def constant(learning_rate, **unused):
    """The rate itself: Adam's step size stays as configured."""
    return learning_rate


# ``train.lr_decay`` -> a function of (learning_rate, steps, phases,
# updates_per_step, alpha) returning what the optimizer is built with.
LR_DECAYS = {"constant": constant, "cosine": PhasedCosineDecay}


def learning_rate(name, rate, steps, phases=(0,), updates_per_step=1, alpha=0.0):
    """The learning rate (a float or a schedule) of decay `name` for one player."""
    decay = lookup(LR_DECAYS, name, "train.lr_decay")
    return decay(rate, steps=steps, phases=phases, updates_per_step=updates_per_step, alpha=alpha)
