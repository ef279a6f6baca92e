"""The loss-term interface: parts with their own networks that join D's or G's objective."""

from typing import NamedTuple

import keras


class Contribution(NamedTuple):
    """What a term adds to one step.

    Attributes:
        losses: name -> scalar, already weighted: their sum joins the step's
            objective, and each is reported under its name.
        metrics: name -> scalar, reported only (no gradient is taken).
    """

    losses: dict
    metrics: dict


NOTHING = Contribution({}, {})


class LossTerm(keras.layers.Layer):
    """A loss term: a layer with its own variables that adds to D's and/or G's loss.

    The trainer calls `d_terms` inside each D update's tape and `g_terms`
    inside each G update's tape (every iteration of the inner loop), adds
    the returned losses to that step's objective, and reports the losses and
    metrics through its trackers (averaged like the step's own values). The
    term's trainable variables are updated with the player named by
    `player`, from whatever objective that player's step minimizes; a term
    whose `player` is ``"own"`` (a third player, such as the encoder E) is
    trained by its own ``optimizer`` on the losses of `own_terms`, in a step
    of its own after each D update, and its variables join neither G's nor
    D's list.

    A step hands its terms one `ctx` dict, filled once:

    - both steps: ``real`` (this update's real batch), ``fake`` (its fakes;
      in the G step differentiable with respect to G), ``latent`` (the
      latent inputs G drew those fakes from), ``discriminator``,
      ``seed_generator`` (the trainer's, for any randomness), ``loss``
      (the run's adversarial loss function), ``fake_outputs`` (D's output
      dict on the fakes, from the step's own D pass) and ``real_outputs``
      (D's on the real batch; in the G step only when the loss reads the
      real logits, as the relativistic one does, else None);
    - the D step also: ``labels`` (the real batch's labels when the data
      has them, else None: InfoGAN's supervised codes read them),
      ``generator`` and ``d_updates`` (D's updates so far, for schedules). The G step has none: a term's G loss reaches G only
      through ``fake``, where the trainer starts G's one backward pass
      (`AttnGAN._generator_gradients`);
    - the G step also: ``mask`` (the mask G received, None without a mask
      source);
    - both steps, and the own step: ``paired`` (True when each fake is
      meant to be its real image, as in super-resolution; the own step
      reads ``real``, ``fake`` and ``paired`` of D's update).

    Subclasses set the class attributes below, implement `from_networks`
    and whichever of `d_terms` / `g_terms` they need, and `get_config`.

    Attributes:
        CONFIG_KEYS: constructor argument -> key of the ``train`` config
            section that sets it.
        player: ``"d"``, ``"g"`` or ``"own"``: whose optimizer trains the
            variables (``"own"``: the term's ``optimizer`` attribute).
        reported: every name the term's contributions use, in both steps
            (the trainer makes one tracker per name).
    """

    CONFIG_KEYS = {}
    player = "d"
    reported = ()

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """Builds the term for these networks (its heads take their shapes from them)
        and the trainer's `keras_attngan.LatentSpec` `latent`."""
        raise NotImplementedError

    def d_terms(self, ctx):
        """The term's `Contribution` to one D update."""
        return NOTHING

    def g_terms(self, ctx):
        """The term's `Contribution` to one G update."""
        return NOTHING

    def own_terms(self, ctx):
        """The losses (and metrics) of the term's own update (``player == "own"``)."""
        return NOTHING
