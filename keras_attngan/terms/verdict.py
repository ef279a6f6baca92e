"""U-Net GAN's per-cell adversarial loss: D's verdict decoder judges every cell."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.terms.base import Contribution, LossTerm


def cutmix_masks(batch_size, size, seed_generator):
    """CutMix masks ``[B, S, S, 1]``: 1 (real) inside a random box, 0 (fake) outside, or the reverse.

    As U-Net GAN draws them (Schonfeld et al., 2020, section 3.2, after
    Yun et al., 2019): the box covers a fraction ``r ~ U(0, 1)`` of the
    image (sides ``S * sqrt(r)``) at a uniform centre, clipped to the image,
    and half of the masks are flipped, so real and fake parts are equally
    likely everywhere.
    """
    draws = keras.random.uniform((4, batch_size, 1), seed=seed_generator)
    side = size * ops.sqrt(draws[0])
    centre_y, centre_x = size * draws[1], size * draws[2]
    pixels = ops.arange(size, dtype="float32")[None, :] + 0.5
    rows = ops.logical_and(pixels >= centre_y - side / 2, pixels < centre_y + side / 2)
    cols = ops.logical_and(pixels >= centre_x - side / 2, pixels < centre_x + side / 2)
    box = ops.cast(ops.logical_and(rows[:, :, None], cols[:, None, :]), "float32")
    flip = ops.cast(draws[3] < 0.5, "float32")[:, :, None]
    return (flip * (1.0 - box) + (1.0 - flip) * box)[..., None]


def _cross_entropy(logits, targets):
    """Mean binary cross-entropy of `logits` against soft `targets` (1: real)."""
    return ops.mean(ops.softplus(logits) - targets * logits)


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

    With ``cutmix > 0``, each D update is, with that probability, also
    shown CutMix images (`cutmix_masks`: a box of the real image pasted on
    the fake, or the reverse), as U-Net GAN regularizes its decoder: D's
    global logit should call the mix fake, each cell's logit should give
    the cell's real fraction (binary cross-entropy with soft targets,
    the paper's loss, whatever ``train.loss``), and the cells' logits on
    the mix should equal the mix of their logits on the two images (the
    consistency term, squared error, weighted by ``consistency``). The
    probability ramps up linearly over the first ``cutmix_warmup`` D
    updates, as the paper warms it up. The mix costs one more D pass on a
    batch when it is drawn.

    Reported: ``d_verdict`` and ``g_verdict`` (the weighted terms),
    ``d_cutmix`` (the weighted CutMix terms, 0 at updates without a mix),
    and ``verdict_real`` and ``verdict_fake``: D's mean per-cell
    probability of "real" on the real and the fake images of D's step.

    Args:
        weight_d: weight of the per-cell loss in D's loss (>= 0).
        weight_g: weight of its G side in G's loss (>= 0).
        cutmix: the probability of a CutMix batch per D update, in [0, 1]
            (0: off; the paper uses 0.5).
        cutmix_warmup: D updates over which that probability ramps up from 0.
        consistency: weight of the consistency term (>= 0).
    """

    CONFIG_KEYS = {
        "weight_d": "verdict_weight_d",
        "weight_g": "verdict_weight_g",
        "cutmix": "verdict_cutmix",
        "cutmix_warmup": "verdict_cutmix_warmup",
        "consistency": "verdict_consistency",
    }
    player = "d"
    reported = ("d_verdict", "d_cutmix", "verdict_real", "verdict_fake", "g_verdict")

    def __init__(self, weight_d=1.0, weight_g=1.0, cutmix=0.0, cutmix_warmup=0, consistency=1.0, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("weight_d", weight_d), ("weight_g", weight_g), ("consistency", consistency)):
            if not value >= 0:
                raise ValueError(f"`{key}` should be >= 0. Received: {key}={value!r}")
        if not 0 <= cutmix <= 1:
            raise ValueError(f"`cutmix` should be in [0, 1]. Received: cutmix={cutmix!r}")
        if not (isinstance(cutmix_warmup, int) and cutmix_warmup >= 0):
            raise ValueError(f"`cutmix_warmup` should be an integer >= 0. Received: cutmix_warmup={cutmix_warmup!r}")
        self.weight_d = float(weight_d)
        self.weight_g = float(weight_g)
        self.cutmix = float(cutmix)
        self.cutmix_warmup = cutmix_warmup
        self.consistency = float(consistency)
        self.built = True

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """The term for a D with a verdict decoder (built for the term, or by the ``verdict`` mask source).

        Raises:
            ValueError: D has no verdict decoder.
        """
        if getattr(discriminator, "verdict", None) is None:
            raise ValueError(
                "The 'verdict' term trains D's per-cell verdict decoder; build D with "
                "`verdict_decoder=True` or the 'verdict' mask source. "
                f"Received: attention={discriminator.attention!r}"
            )
        return cls(**options)

    def mixed_loss(self, ctx):
        """The CutMix terms of one D update: D's verdicts on a mix of the real batch and the fakes."""
        real, fake = ctx["real"], ctx["fake"]
        size = real.shape[1]
        # The static batch size where there is one: XLA needs the shapes of
        # the D pass inside `tf.cond` as constants.
        masks = cutmix_masks(real.shape[0] or ops.shape(real)[0], size, ctx["seed_generator"])
        mixed = masks * real + (1.0 - masks) * ops.cast(fake, real.dtype)
        outputs = ctx["discriminator"](mixed, training=True, return_attention=False)
        cells = outputs["cell_logits"]
        # Each cell's real fraction, the target of its logit.
        shares = ops.average_pool(masks, size // cells.shape[1], padding="valid")
        blend = shares * ctx["real_outputs"]["cell_logits"] + (1.0 - shares) * ctx["fake_outputs"]["cell_logits"]
        return (
            _cross_entropy(outputs["logits"], 0.0)
            + _cross_entropy(cells, shares)
            + self.consistency * ops.mean(ops.square(cells - blend))
        )

    def _mix_probability(self, update):
        if not self.cutmix_warmup:
            return self.cutmix
        return self.cutmix * ops.minimum(1.0, ops.cast(update, "float32") / self.cutmix_warmup)

    def d_terms(self, ctx):
        real = ctx["real_outputs"]["cell_logits"]
        fake = ctx["fake_outputs"]["cell_logits"]
        mix = ops.zeros(())
        if self.cutmix:
            drawn = keras.random.uniform((), seed=ctx["seed_generator"]) < self._mix_probability(ctx["d_updates"])
            # Skips the mix's D pass at the updates that do not draw it.
            mix = tf.cond(drawn, lambda: self.weight_d * self.mixed_loss(ctx), lambda: ops.zeros(()))
        return Contribution(
            {"d_verdict": self.weight_d * ctx["loss"](real, fake).d_loss, "d_cutmix": mix},
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
        config.update(
            weight_d=self.weight_d,
            weight_g=self.weight_g,
            cutmix=self.cutmix,
            cutmix_warmup=self.cutmix_warmup,
            consistency=self.consistency,
        )
        return config
