"""U-Net GAN's per-cell adversarial loss: D's verdict decoder judges every cell."""

import keras
from keras import ops

from keras_attngan.terms.base import Contribution, LossTerm


@keras.saving.register_keras_serializable(package="keras_attngan")
class Verdict(LossTerm):
    """The per-cell adversarial loss of U-Net GAN (Schonfeld et al., 2020, equations 2-4).

    D's verdict decoder (`keras_attngan.networks.verdict_decoder`) gives a
    real/fake logit per cell. D's loss adds ``weight_d`` times the
    adversarial loss of the run (``train.loss``) with every cell of a real
    image a real example and every cell of a fake a fake one; G's loss adds
    ``weight_g`` times that loss's G side on the fakes' cells. Each is a
    mean over cells, so a loss reads its cells as it reads a batch; the
    relativistic loss compares each cell with the mean over the other
    batch's cells. The paper weights both parts 1 beside the global loss.

    The cell logits come from the step's own D pass (``ctx["real_outputs"]``,
    ``ctx["fake_outputs"]``), so the term costs no D pass; the decoder is
    part of D and trains with D's optimizer.

    Reported: ``d_verdict`` and ``g_verdict`` (the weighted terms), and
    ``verdict_real`` and ``verdict_fake``: D's mean per-cell probability of
    "real" on the real and the fake images of D's step.

    Args:
        weight_d: weight of the per-cell loss in D's loss (>= 0).
        weight_g: weight of its G side in G's loss (>= 0).
    """

    CONFIG_KEYS = {"weight_d": "verdict_weight_d", "weight_g": "verdict_weight_g"}
    player = "d"
    reported = ("d_verdict", "verdict_real", "verdict_fake", "g_verdict")

    def __init__(self, weight_d=1.0, weight_g=1.0, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("weight_d", weight_d), ("weight_g", weight_g)):
            if not value >= 0:
                raise ValueError(f"`{key}` should be >= 0. Received: {key}={value!r}")
        self.weight_d = float(weight_d)
        self.weight_g = float(weight_g)
        self.built = True

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """The term for a D with a verdict decoder (``model.mask_source = "verdict"``).

        Raises:
            ValueError: D has no verdict decoder.
        """
        if getattr(discriminator, "verdict", None) is None:
            raise ValueError(
                "The 'verdict' term trains D's per-cell verdict decoder, which only the "
                f"'verdict' mask source builds. Received: attention={discriminator.attention!r}"
            )
        return cls(**options)

    def d_terms(self, ctx):
        real = ctx["real_outputs"]["cell_logits"]
        fake = ctx["fake_outputs"]["cell_logits"]
        return Contribution(
            {"d_verdict": self.weight_d * ctx["loss"](real, fake).d_loss},
            {
                "verdict_real": ops.mean(ops.sigmoid(real)),
                "verdict_fake": ops.mean(ops.sigmoid(fake)),
            },
        )

    def g_terms(self, ctx):
        fake = ctx["fake_outputs"]["cell_logits"]
        real = ctx["real_outputs"]
        # Only the relativistic loss reads the real cells in G's loss (the
        # trainer then passes D's outputs on the real batch).
        real = ops.zeros_like(fake) if real is None else real["cell_logits"]
        return Contribution({"g_verdict": self.weight_g * ctx["loss"](real, fake).g_loss}, {})

    def get_config(self):
        config = super().get_config()
        config.update(weight_d=self.weight_d, weight_g=self.weight_g)
        return config
