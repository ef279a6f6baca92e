"""The latent space: what G's inputs other than the mask are sampled from.

Noise z, an optional class label, and InfoGAN's structured codes (Chen et
al., 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets", section 5): categorical codes (one
of K values, each with a prior probability) and continuous codes (uniform on
a range, or standard normal). G receives the codes as one float input
``"codes"``: each categorical code one-hot, then each continuous code, in
the order the spec lists them (`LatentSpec.encode` / `LatentSpec.decode`).
"""

import math

import numpy as np

# One message shape for every refused value: the dotted key, what it should
# be, what it was.
from keras_attngan.core.errors import refuse as _fail

NOISE_DISTRIBUTIONS = ("normal", "uniform")
CONTINUOUS_PRIORS = ("uniform", "normal")
# The latent key of the uniform numbers a first-mask prior draws its mask from
# (`keras_attngan.core.first_masks`); G never receives it.
PRIOR = "prior"


def generator_inputs(latent):
    """G's inputs of a latent dict: all but the first mask's ``"prior"``, which G never sees."""
    return {key: value for key, value in latent.items() if key != PRIOR}


class CategoricalCode:
    """A categorical code: one of `num_values` values, drawn from `prior`.

    Args:
        name: the code's name (a Python identifier).
        num_values: K >= 2.
        prior: K non-negative weights (normalized here); None is uniform.
        key: the config key reported in errors.
    """

    def __init__(self, name, num_values, prior=None, key="model.categorical_codes"):
        if not str(name).isidentifier():
            _fail(key, name, "names that are identifiers (letters, digits, _)")
        if not isinstance(num_values, int) or num_values < 2:
            _fail(key, f"{name}:{num_values}", "NAME:K entries with K >= 2 (a code of one value carries nothing)")
        if prior is None:
            prior = [1.0] * num_values
        prior = [float(p) for p in prior]
        if len(prior) != num_values or min(prior) < 0 or sum(prior) <= 0:
            _fail(key, f"{name}:{num_values}:{prior}", f"{num_values} weights >= 0 with a positive sum")
        self.name = name
        self.num_values = num_values
        # Stored as given (a config round trip is exact), used normalized.
        self.prior = prior
        self.probabilities = [p / sum(prior) for p in prior]

    @property
    def entropy(self):
        """H(c) in nats: the most a lower bound on I(c; G(z, c)) can reach."""
        return -sum(p * math.log(p) for p in self.probabilities if p > 0)

    def get_config(self):
        return {"name": self.name, "num_values": self.num_values, "prior": self.prior}


class ContinuousCode:
    """A continuous code: uniform on [low, high], or standard normal.

    Args:
        name: the code's name.
        prior: ``"uniform"`` or ``"normal"``.
        low, high: the uniform prior's range (low < high); unused for normal.
        key: the config key reported in errors.
    """

    def __init__(self, name, prior="uniform", low=-1.0, high=1.0, key="model.continuous_codes"):
        if not str(name).isidentifier():
            _fail(key, name, "names that are identifiers (letters, digits, _)")
        if prior not in CONTINUOUS_PRIORS:
            _fail(key, f"{name}:{prior}", f"NAME or NAME:PRIOR entries with PRIOR one of {list(CONTINUOUS_PRIORS)}")
        if not low < high:
            _fail("model.continuous_range", (low, high), "(low, high) with low < high")
        self.name = name
        self.prior = prior
        self.low = float(low)
        self.high = float(high)

    @property
    def entropy(self):
        """Differential entropy h(c) in nats (log(high - low), or 0.5 log(2 pi e))."""
        if self.prior == "uniform":
            return math.log(self.high - self.low)
        return 0.5 * math.log(2 * math.pi * math.e)

    def get_config(self):
        return {"name": self.name, "prior": self.prior, "low": self.low, "high": self.high}


def parse_categorical(text, key="model.categorical_codes"):
    """``"digit:10,size:3:1/2/1"`` -> `CategoricalCode`s (NAME:K, or NAME:K:W1/.../WK)."""
    codes = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        parts = entry.split(":")
        if len(parts) not in (2, 3):
            _fail(key, text, "comma-separated NAME:K or NAME:K:W1/.../WK entries, e.g. 'digit:10'")
        try:
            num_values = int(parts[1])
            prior = [float(w) for w in parts[2].split("/")] if len(parts) == 3 else None
        except ValueError:
            _fail(key, text, "comma-separated NAME:K or NAME:K:W1/.../WK entries, e.g. 'digit:10'")
        codes.append(CategoricalCode(parts[0], num_values, prior, key=key))
    return codes


def parse_continuous(text, value_range=(-1.0, 1.0), key="model.continuous_codes"):
    """``"width,slant:normal"`` -> `ContinuousCode`s (NAME or NAME:PRIOR, uniform by default)."""
    codes = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, prior = entry.partition(":")
        codes.append(ContinuousCode(name, prior or "uniform", *value_range, key=key))
    return codes


class LatentSpec:
    """Describes and samples G's latent inputs.

    The noise vector z (N(0, I), or uniform on [-1, 1]); for a
    class-conditional GAN a class label drawn uniformly (the fake labels of
    Miyato and Koyama, 2018); and InfoGAN's codes (Chen et al., 2016), which
    G receives as the one input ``"codes"``. The spec returns a dict of G
    inputs, so the trainer is the same with or without codes; for an
    attention model whose first mask is drawn from a prior
    (`keras_attngan.core.first_masks`), the dict also holds that prior's
    uniform numbers, ``"prior"``, which the first mask reads and G does not.

    Args:
        noise_dim: size of z.
        num_classes: number of labels; > 0 adds the key ``"label"``.
        categorical: `CategoricalCode`s (or their configs).
        continuous: `ContinuousCode`s (or their configs).
        noise_distribution: ``"normal"`` or ``"uniform"``.
        prior_dim: uniform numbers in [0, 1) per sample under ``"prior"``
            (0: none).
    """

    def __init__(
        self, noise_dim, num_classes=0, categorical=(), continuous=(), noise_distribution="normal", prior_dim=0
    ):
        if not isinstance(noise_dim, int) or noise_dim < 1:
            raise ValueError(
                f"`latent_dim` should be a positive integer. Received: latent_dim={noise_dim!r}"
            )
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(
                "`num_classes` should be an integer >= 0. "
                f"Received: num_classes={num_classes!r}"
            )
        if noise_distribution not in NOISE_DISTRIBUTIONS:
            _fail("model.noise_distribution", noise_distribution, f"one of {list(NOISE_DISTRIBUTIONS)}")
        if not isinstance(prior_dim, int) or prior_dim < 0:
            raise ValueError(f"`prior_dim` should be an integer >= 0. Received: prior_dim={prior_dim!r}")
        self.noise_dim = noise_dim
        self.prior_dim = prior_dim
        self.num_classes = num_classes
        self.noise_distribution = noise_distribution
        self.categorical = [c if isinstance(c, CategoricalCode) else CategoricalCode(**c) for c in categorical]
        self.continuous = [c if isinstance(c, ContinuousCode) else ContinuousCode(**c) for c in continuous]
        names = [c.name for c in self.categorical + self.continuous]
        if len(set(names)) != len(names):
            _fail("model.categorical_codes", names, "distinct code names across both kinds of code")

    @classmethod
    def from_model_config(cls, model):
        """The spec of a config's ``model`` section (``latent_dim``, codes, ``num_classes``, the first mask's prior)."""
        from keras_attngan.core import choices

        attends = choices.MASK_SOURCES.get(model.mask_source, False)
        return cls(
            model.latent_dim,
            model.num_classes,
            parse_categorical(model.categorical_codes),
            parse_continuous(model.continuous_codes, tuple(model.continuous_range)),
            model.noise_distribution,
            choices.FIRST_MASKS.get(model.first_mask, 0) if attends else 0,
        )

    @property
    def code_names(self):
        return [c.name for c in self.categorical + self.continuous]

    @property
    def code_dim(self):
        """Size of G's ``"codes"`` input: the one-hot widths plus one per continuous code."""
        return sum(c.num_values for c in self.categorical) + len(self.continuous)

    @property
    def entropy(self):
        """H(c) of all codes together (they are independent), in nats."""
        return sum(c.entropy for c in self.categorical + self.continuous)

    def code(self, name, key="--code"):
        """The code called `name`; ValueError naming `key` and the valid names otherwise."""
        for code in self.categorical + self.continuous:
            if code.name == name:
                return code
        _fail(key, name, f"one of the model's codes {self.code_names}")

    def sample(self, batch_size, seed):
        """Draws a batch of latent inputs.

        Args:
            batch_size: number of samples.
            seed: a `keras.random.SeedGenerator` (the owner's; all randomness
                goes through it) or an int.

        Returns:
            ``{"z": [batch_size, noise_dim] float32}``, plus ``"label"``:
            int32 ``[batch_size]`` uniform in [0, num_classes) with classes,
            plus ``"codes"``: float32 ``[batch_size, code_dim]`` with codes,
            plus ``"prior"``: float32 ``[batch_size, prior_dim]`` uniform in
            [0, 1) with a prior.
        """
        # Keras (and TensorFlow) load at the first sample, not on import: the
        # config check builds specs before the command line imports TensorFlow.
        import keras
        from keras import ops

        if self.noise_distribution == "uniform":
            z = keras.random.uniform((batch_size, self.noise_dim), -1.0, 1.0, seed=seed)
        else:
            z = keras.random.normal((batch_size, self.noise_dim), seed=seed)
        latent = {"z": z}
        if self.num_classes:
            latent["label"] = keras.random.randint(
                (batch_size,), 0, self.num_classes, dtype="int32", seed=seed
            )
        if self.code_dim:
            categories = {
                c.name: ops.cast(
                    keras.random.categorical(
                        ops.log(ops.convert_to_tensor([c.probabilities])), batch_size, seed=seed
                    )[0],
                    "int32",
                )
                for c in self.categorical
            }
            values = {
                c.name: (
                    keras.random.uniform((batch_size,), c.low, c.high, seed=seed)
                    if c.prior == "uniform"
                    else keras.random.normal((batch_size,), seed=seed)
                )
                for c in self.continuous
            }
            latent["codes"] = self.encode(categories, values)
        if self.prior_dim:
            latent[PRIOR] = keras.random.uniform((batch_size, self.prior_dim), seed=seed)
        return latent

    def sample_numpy(self, num, seed):
        """The NumPy twin of `sample` for code outside the graph (synthesis, grids).

        Returns:
            (z ``[num, noise_dim]``, categories ``{name: int [num]}``,
            continuous values ``{name: float32 [num]}``), all from `seed`.
        """
        rng = np.random.default_rng(seed)
        if self.noise_distribution == "uniform":
            z = rng.uniform(-1.0, 1.0, (num, self.noise_dim)).astype(np.float32)
        else:
            z = rng.standard_normal((num, self.noise_dim)).astype(np.float32)
        categories = {c.name: rng.choice(c.num_values, num, p=c.probabilities).astype(np.int32) for c in self.categorical}
        values = {
            c.name: (rng.uniform(c.low, c.high, num) if c.prior == "uniform" else rng.standard_normal(num)).astype(
                np.float32
            )
            for c in self.continuous
        }
        return z, categories, values

    def inputs_numpy(self, num, seed, categories=None, values=None, label=None):
        """G's latent inputs drawn from `seed`, as `attngan synthesize --seed` feeds an export.

        z and the codes are `sample_numpy`'s (normal z is
        ``default_rng(seed).standard_normal``, as exports before the codes
        drew it); a class-conditional model's labels are
        uniform over its classes, from a second stream of the same seed, so
        adding labels changes no z; a first-mask prior's numbers come from a
        third.

        Args:
            num: rows.
            seed: an int.
            categories: ``{name: int}`` categorical codes fixed for every row.
            values: ``{name: float}`` continuous codes fixed for every row.
            label: the class of every row (a class-conditional model), or None
                to draw them.

        Returns:
            ``{"z"}`` float32 ``[num, noise_dim]``, plus ``"codes"`` float32
            ``[num, code_dim]`` with codes, ``"label"`` int32 ``[num]`` with
            classes and ``"prior"`` float32 ``[num, prior_dim]`` with a
            prior: the names of the export's inputs.
        """
        z, drawn_categories, drawn_values = self.sample_numpy(num, seed)
        inputs = {"z": z}
        if self.code_dim:
            drawn_categories.update({n: np.full(num, v, np.int32) for n, v in (categories or {}).items()})
            drawn_values.update({n: np.full(num, v, np.float32) for n, v in (values or {}).items()})
            inputs["codes"] = np.asarray(self.encode(drawn_categories, drawn_values), np.float32)
        if self.num_classes:
            if label is None:
                labels = np.random.default_rng([seed, 1]).integers(0, self.num_classes, num)
            else:
                labels = np.full(num, label)
            inputs["label"] = labels.astype(np.int32)
        if self.prior_dim:
            inputs[PRIOR] = np.random.default_rng([seed, 2]).uniform(size=(num, self.prior_dim)).astype(np.float32)
        return inputs

    def encode(self, categories, values):
        """G's ``"codes"`` from per-code values: ``{name: int [B]}``, ``{name: float [B]}``.

        Returns:
            float32 ``[B, code_dim]``: the one-hot categories, then the values.
        """
        from keras import ops

        parts = [ops.one_hot(ops.convert_to_tensor(categories[c.name]), c.num_values) for c in self.categorical]
        parts += [ops.cast(ops.convert_to_tensor(values[c.name]), "float32")[:, None] for c in self.continuous]
        return ops.concatenate([ops.cast(p, "float32") for p in parts], axis=-1)

    def decode(self, codes):
        """The inverse of `encode`: (``{name: int32 [B]}``, ``{name: float [B]}``)."""
        from keras import ops

        categories, values, start = {}, {}, 0
        for c in self.categorical:
            categories[c.name] = ops.cast(ops.argmax(codes[:, start : start + c.num_values], axis=-1), "int32")
            start += c.num_values
        for c in self.continuous:
            values[c.name] = codes[:, start]
            start += 1
        return categories, values

    def get_config(self):
        return {
            "noise_dim": self.noise_dim,
            "num_classes": self.num_classes,
            "categorical": [c.get_config() for c in self.categorical],
            "continuous": [c.get_config() for c in self.continuous],
            "noise_distribution": self.noise_distribution,
            "prior_dim": self.prior_dim,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
