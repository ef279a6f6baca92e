import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_estimator, make_trainer, real_dataset

from keras_attngan.core import losses, penalties
from keras_attngan.core.latent import LatentSpec
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.layers import MaskModulation
from keras_attngan.terms.verdict import Verdict
from keras_attngan.trainers import recurrence
from keras_attngan.trainers.attention import AttnGAN
from keras_attngan.trainers.base import GAN
from keras_attngan.trainers.recurrence import synthesize


def _snapshot(variables):
    return [v.numpy().copy() for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def _batch(count=4):
    return next(iter(real_dataset(count)))


@pytest.mark.parametrize("inner_steps, mi_pairs", [(1, 0), (3, 0), (2, 3)])
def test_inner_loop_runs_k_times_with_constant_z_and_uniform_first_mask(inner_steps, mi_pairs):
    g_calls, d_calls, mi_calls = [], [], []

    class RecordingGenerator(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, inputs, training=None):
            images = self.inner(inputs, training=training)
            g_calls.append(({k: np.asarray(v) for k, v in inputs.items()}, np.asarray(images)))
            return images

    class RecordingDiscriminator(Discriminator):
        def call(self, images, training=None, return_attention=True):
            outputs = super().call(images, training, return_attention)
            d_calls.append((np.asarray(images), {k: np.asarray(v) for k, v in outputs.items()}))
            return outputs

    estimator = make_estimator()
    estimate = estimator.call

    def recording_estimate(mask, change):
        mi_calls.append((np.asarray(mask), np.asarray(change)))
        return estimate(mask, change)

    estimator.call = recording_estimate
    model = AttnGAN(
        RecordingGenerator(build_generator(LATENT, SIZE, CHANNELS, width=8)),
        RecordingDiscriminator(SIZE, CHANNELS, width=8),
        LatentSpec(LATENT),
        estimator,
        inner_steps=inner_steps,
        mi_pairs=mi_pairs,
        seed=3,
    )
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), run_eagerly=True)
    model.train_step(_batch())

    # G runs once on the uniform mask for D's first mask, then once per
    # iteration on the previous mask (for the first `pairs` samples) and the
    # current mask (for all) together (one batch: dx = G(z, s) - G(z, s_prev)
    # differentiated with G's current parameters and normalized as in inference).
    assert len(g_calls) == 1 + inner_steps
    assert len(mi_calls) == inner_steps
    assert int(model.g_optimizer.iterations) == inner_steps
    assert int(model.d_optimizer.iterations) == 1
    z0 = g_calls[0][0]["z"]
    batch = len(z0)
    pairs = mi_pairs or batch
    for inputs, _ in g_calls[1:]:  # z is held constant
        np.testing.assert_array_equal(inputs["z"], np.concatenate([z0[:pairs], z0]))
    np.testing.assert_array_equal(g_calls[0][0]["mask"], 1.0)  # starts from the uniform mask
    # The mask of iteration k is D's attention on the output of
    # iteration k - 1 (on the uniform-mask output for k = 1).
    np.testing.assert_array_equal(d_calls[0][0], g_calls[0][1])
    previous_mask = g_calls[0][0]["mask"]
    for k in range(1, inner_steps + 1):
        masks, images = g_calls[k][0]["mask"], g_calls[k][1]
        np.testing.assert_array_equal(masks[:pairs], previous_mask[:pairs])
        np.testing.assert_array_equal(masks[pairs:], d_calls[k - 1][1]["attention"])
        np.testing.assert_array_equal(d_calls[k][0], images[pairs:])
        # The MI term reads every mask and the first `pairs` changes.
        mi_mask, change = mi_calls[k - 1]
        np.testing.assert_array_equal(mi_mask, masks[pairs:])
        np.testing.assert_allclose(change, images[pairs:][:pairs] - images[:pairs], atol=1e-6)
        previous_mask = masks[pairs:]
    # The D step reads the last update's pass on the fakes and judges the real batch alone.
    assert len(d_calls) == inner_steps + 2
    np.testing.assert_array_equal(d_calls[-1][0], _batch()["images"])


@pytest.mark.parametrize("estimator", ["infonce", "barber_agakov"])
def test_generator_step_updates_g_and_the_estimator_but_not_d(estimator):
    model = make_trainer(estimator=estimator)
    d_before = _snapshot(model.discriminator.trainable_variables)
    g_before = _snapshot(model.generator.trainable_variables)
    q_before = _snapshot(model.estimator_variables)
    # The mask modulation starts at zero, so the first inner loop's masks
    # change nothing (dx = 0, no MI gradient yet); the second one's do.
    for _ in range(2):
        model._generator_inner_loop(_batch()["images"], model.latent.sample(4, model.seed_generator))
    assert not any(_changed(d_before, model.discriminator.trainable_variables))
    assert all(_changed(g_before, model.generator.trainable_variables))
    assert q_before and all(_changed(q_before, model.estimator_variables))


def test_discriminator_step_updates_d_only():
    model = make_trainer()
    fake = model.generator({"z": tf.random.normal((4, LATENT)), "mask": tf.ones((4, SIZE, SIZE, 1))})
    d_before = _snapshot(model.discriminator.trainable_variables)
    g_before = _snapshot(model.generator_variables)
    model._discriminator_step(_batch()["images"], fake)
    assert all(_changed(d_before, model.discriminator.trainable_variables))
    assert not any(_changed(g_before, model.generator_variables))


def _generator_gradients(model, latent, with_mi, balanced=False, reweight=0.0):
    """G's gradient as the inner loop's first iteration defines it (K = 1), and the MI weight.

    `balanced`: the MI weight is lambda_mi times the ratio of the gradient
    norms, the adversarial loss's at G's output over the MI loss's at the change.
    `reweight`: the adversarial gradient at G's output is scaled by 1 +
    reweight * D's mask of G's output (xAI-GAN).
    """
    variables = model.generator.trainable_variables
    size = model.discriminator.image_size
    uniform = tf.ones((4, size, size, 1))
    first = model.generator({**latent, "mask": uniform}, training=True)
    mask = tf.stop_gradient(model.discriminator(first, training=True)["attention"])
    with tf.GradientTape(persistent=True) as tape:
        both = model.generator(
            {"z": tf.concat([latent["z"]] * 2, 0), "mask": tf.concat([uniform, mask], 0)},
            training=True,
        )
        previous, current = both[:4], both[4:]
        judged = model.discriminator(current)
        fake_logits = judged["logits"]
        adversarial = model.loss_fn(tf.zeros_like(fake_logits), fake_logits).g_loss
        change = current - previous
        mi_loss = model.mi_estimator(mask, change).loss
    weight = model.lambda_mi if with_mi else 0.0
    if balanced:
        weight *= float(tf.norm(tape.gradient(adversarial, current)) / tf.norm(tape.gradient(mi_loss, change)))
    at_output = tape.gradient(adversarial, current) * (1 + reweight * tf.stop_gradient(judged["attention"]))
    gradients = [
        a + weight * m
        for a, m in zip(
            tape.gradient(current, variables, output_gradients=at_output), tape.gradient(mi_loss, variables)
        )
    ]
    return gradients, weight


@pytest.mark.parametrize(
    "lambda_mi, weighting", [(0.0, "fixed"), (3.0, "fixed"), (0.0, "balanced"), (0.5, "balanced")]
)
def test_lambda_mi_decides_whether_the_mi_gradient_reaches_g(lambda_mi, weighting):
    """lambda_mi = 0: G's update is the adversarial one alone; > 0: the MI term adds to it,
    weighted by lambda_mi ("fixed") or by lambda_mi times the gradient-norm ratio ("balanced")."""
    model = make_trainer(
        inner_steps=1, lambda_mi=lambda_mi, estimator="barber_agakov", mi_weighting=weighting
    )
    # Plain SGD with learning rate 1: the update is exactly minus the gradient.
    model.g_optimizer = keras.optimizers.SGD(1.0)
    model.g_optimizer.build(model.generator_variables)
    latent = {"z": tf.random.normal((4, LATENT), seed=2)}
    for layer in model.generator.layers:  # a mask-sensitive G, as after some training
        if isinstance(layer, MaskModulation):
            layer.scale_shift.kernel.assign(tf.random.normal(layer.scale_shift.kernel.shape, stddev=0.3))
    expected, weight = _generator_gradients(
        model, latent, with_mi=lambda_mi > 0, balanced=weighting == "balanced"
    )
    adversarial_only, _ = _generator_gradients(model, latent, with_mi=False)
    before = _snapshot(model.generator.trainable_variables)
    _, stats = model._generator_inner_loop(_batch()["images"], latent)
    np.testing.assert_allclose(float(stats["mi_weight"]), weight, rtol=1e-4)
    if weighting == "balanced" and lambda_mi > 0:
        # The ratio is a measured quantity, not lambda_mi itself.
        assert not np.isclose(weight, lambda_mi, rtol=1e-2)
    updates = [b - v.numpy() for b, v in zip(before, model.generator.trainable_variables)]
    for update, gradient in zip(updates, expected):
        np.testing.assert_allclose(update, gradient, rtol=1e-3, atol=1e-5)
    differs = [
        not np.allclose(a, b, atol=1e-6) for a, b in zip(expected, adversarial_only)
    ]
    assert any(differs) is (lambda_mi > 0)


@pytest.mark.parametrize("reweight", [0.0, 2.0])
def test_g_gradient_mask_scales_g_gradient_at_its_output_by_d_mask(reweight):
    model = make_trainer(inner_steps=1, lambda_mi=0.0, estimator="barber_agakov", g_gradient_mask=reweight)
    model.g_optimizer = keras.optimizers.SGD(1.0)
    model.g_optimizer.build(model.generator_variables)
    latent = {"z": tf.random.normal((4, LATENT), seed=2)}
    expected, _ = _generator_gradients(model, latent, with_mi=False, reweight=reweight)
    plain, _ = _generator_gradients(model, latent, with_mi=False)
    before = _snapshot(model.generator.trainable_variables)
    model._generator_inner_loop(_batch()["images"], latent)
    updates = [b - v.numpy() for b, v in zip(before, model.generator.trainable_variables)]
    for update, gradient in zip(updates, expected):
        np.testing.assert_allclose(update, gradient, rtol=1e-3, atol=1e-5)
    assert any(not np.allclose(a, b, atol=1e-6) for a, b in zip(expected, plain)) is (reweight > 0)


def test_the_alignment_term_reaches_g_through_d_attention_and_leaves_d_alone():
    latent = {"z": tf.random.normal((4, LATENT), seed=2)}
    updates = {}
    for lambda_mi in (0.0, 1.0):
        keras.utils.set_random_seed(0)
        model = make_trainer("gradcam", inner_steps=1, lambda_mi=lambda_mi, estimator="alignment")
        model.g_optimizer = keras.optimizers.SGD(1.0)
        model.g_optimizer.build(model.generator_variables)
        d_before = _snapshot(model.discriminator.trainable_variables)
        before = _snapshot(model.generator.trainable_variables)
        _, stats = model._generator_inner_loop(_batch()["images"], latent)
        assert not any(_changed(d_before, model.discriminator.trainable_variables))
        assert np.isfinite(float(stats["mi_bound"]))
        updates[lambda_mi] = [b - v.numpy() for b, v in zip(before, model.generator.trainable_variables)]
    assert any(not np.allclose(a, b, atol=1e-7) for a, b in zip(updates[0.0], updates[1.0]))


def test_mutual_information_gradient_reaches_the_mask_modulation():
    model = make_trainer(estimator="barber_agakov")
    latent = {"z": tf.random.normal((4, LATENT))}
    previous = model.generator({**latent, "mask": tf.ones((4, SIZE, SIZE, 1))})
    mask = model.discriminator(previous)["attention"]
    kernels = [
        layer.scale_shift.kernel
        for layer in model.generator.layers
        if isinstance(layer, MaskModulation)
    ]
    with tf.GradientTape() as tape:
        current = model.generator({**latent, "mask": mask})
        loss = model.mi_estimator(mask, current - previous).loss
    for gradient in tape.gradient(loss, kernels):
        assert float(tf.norm(gradient)) > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, jit",
    [
        ("learned", False),
        ("learned", True),
        ("gradcam", True),
        ("saliency", True),
        ("none", False),
        ("none", True),
    ],
)
def test_fit(source, jit):
    model = make_trainer(source, compile_kwargs={"jit_compile": jit, "steps_per_execution": 2})
    assert model.jit_compile is jit
    history = model.fit(real_dataset(), steps_per_epoch=4, epochs=1, verbose=0)
    expected = {"d_loss", "d_penalty", "g_loss", "d_real", "d_fake"}
    if source != "none":
        expected |= {"mask_mean", "mask_contrast", "mask_entropy", "mask_diversity"}
        expected |= {"mi_bound", "mi_ceiling", "mi_loss", "mi_weight"}
    assert set(history.history) == expected
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert int(model.train_steps) == 4 and int(model.g_optimizer.iterations) == 8


@pytest.mark.slow
@pytest.mark.parametrize(
    "jit, negatives, candidates", [(False, "changes", 2), (True, "changes", 2), (True, "masks", 4)]
)
def test_fit_with_the_mi_term_on_part_of_the_batch(jit, negatives, candidates):
    """`mi_pairs` = 2 of a batch of 4: InfoNCE's ceiling is log 2 against the other changes,
    log 4 against every mask."""
    model = make_trainer(
        mi_pairs=2, compile_kwargs={"jit_compile": jit}, estimator_options={"negatives": negatives}
    )
    history = model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["mi_ceiling"][-1], np.log(candidates), rtol=1e-5)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    restored = AttnGAN.from_config(model.get_config())
    assert restored.mi_pairs == 2


@pytest.mark.slow
def test_fit_with_the_balanced_mi_weight_under_xla():
    model = make_trainer(mi_weighting="balanced", compile_kwargs={"jit_compile": True})
    history = model.fit(real_dataset(), steps_per_epoch=3, epochs=1, verbose=0)
    weight = history.history["mi_weight"][-1]
    assert np.isfinite(weight) and weight > 0 and weight != pytest.approx(model.lambda_mi)


@pytest.mark.slow
def test_training_is_reproducible_from_the_seed():
    def run():
        keras.utils.set_random_seed(0)
        model = make_trainer()
        model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
        return model.generator.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_save_load_round_trip_of_the_trainer(tmp_path):
    options = {"loss": "hinge", "penalty": "r1", "penalty_weight": 5.0, "penalty_every": 2}
    model = make_trainer(d_steps=2, compile_kwargs=options, mi_weighting="balanced")
    model.fit(real_dataset(8), steps_per_epoch=2, epochs=1, verbose=0)
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, AttnGAN)
    assert (restored.inner_steps, restored.lambda_mi, restored.d_steps) == (2, 1.0, 2)
    assert restored.mi_weighting == "balanced"
    assert (
        restored.loss_name,
        restored.penalty_name,
        restored.penalty_weight,
        restored.penalty_every,
    ) == ("hinge", "r1", 5.0, 2)
    assert isinstance(restored.latent, LatentSpec) and restored.latent.noise_dim == LATENT
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(restored.train_steps) == 2
    z = {"z": tf.random.normal((3, LATENT), seed=1)}
    np.testing.assert_allclose(restored(z), model(z), atol=1e-6)
    restored.fit(real_dataset(8), steps_per_epoch=1, epochs=1, verbose=0)
    assert int(restored.train_steps) == 3


def test_a_config_saved_with_latent_dim_still_loads():
    config = make_trainer().get_config()
    assert config.pop("latent")["config"] == {
        "noise_dim": LATENT, "num_classes": 0, "noise_distribution": "normal", "categorical": [], "continuous": [],
        "prior_dim": 0,
    }  # fmt: skip
    restored = AttnGAN.from_config({**config, "latent_dim": LATENT})
    assert restored.latent.noise_dim == LATENT


def test_a_plain_gan_saved_under_the_attngan_name_loads_as_the_plain_gan():
    # Before each mode had its class, every trainer was saved as an AttnGAN,
    # the plain GAN with mi_estimator None and the MI options beside it.
    model = make_trainer("none", inner_steps=2)
    config = {**model.get_config(), "mi_estimator": None, "lambda_mi": 1.0, "mi_pairs": 0, "mi_weighting": "fixed"}
    restored = AttnGAN.from_config(config)
    assert type(restored) is GAN and restored.inner_steps == 2
    with pytest.raises(ValueError, match="mask source.*attention='none'"):
        AttnGAN(model.generator, model.discriminator, model.latent, make_estimator())


def test_synthesize_returns_the_refinement_trajectory():
    model = make_trainer(inner_steps=3)
    outputs = model.synthesize({"z": tf.random.normal((2, LATENT))})
    assert outputs["masks"].shape == (2, 3, SIZE, SIZE, 1)
    assert outputs["trajectory"].shape == (2, 4, SIZE, SIZE, CHANNELS)
    np.testing.assert_array_equal(outputs["trajectory"][:, -1], outputs["images"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inner_steps": 0}, "inner_steps.*Received: inner_steps=0"),
        ({"lambda_mi": -1.0}, "lambda_mi.*Received: lambda_mi=-1.0"),
        ({"mi_pairs": -1}, "mi_pairs.*Received: mi_pairs=-1"),
        ({"mi_weighting": "adaptive"}, r"mi_weighting.*\['fixed', 'balanced'\].*'adaptive'"),
        ({"mi_estimator": None}, "mi_estimator"),
        ({"latent": LATENT}, "latent.*LatentSpec.*Received: latent=8"),
    ],
)
def test_bad_trainer_arguments(kwargs, match):
    arguments = dict(
        generator=build_generator(LATENT, SIZE, CHANNELS, width=8),
        discriminator=Discriminator(SIZE, CHANNELS, width=8),
        latent=LatentSpec(LATENT),
        mi_estimator=make_estimator(),
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        AttnGAN(**arguments)


def test_bad_compile_arguments():
    model = make_trainer()
    with pytest.raises(ValueError, match="non_saturating.*Received: loss='wgan'"):
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss="wgan")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        model.compile(shared, shared)


@pytest.mark.parametrize("loss", ["non_saturating", "relativistic_average"])
def test_generator_step_reads_the_real_batch_only_when_the_loss_does(loss):
    latent = {"z": tf.random.normal((4, LATENT), seed=1)}
    updates = []
    for real in (_batch()["images"], -_batch()["images"]):
        keras.utils.set_random_seed(0)
        model = make_trainer("none", inner_steps=1, compile_kwargs={"loss": loss})
        before = _snapshot(model.generator.trainable_variables)
        model._generator_inner_loop(real, latent)
        updates.append([b - v.numpy() for b, v in zip(before, model.generator.trainable_variables)])
    same = all(np.array_equal(a, b) for a, b in zip(*updates))
    assert same is not losses.needs_real_logits_for_g(losses.LOSSES[loss])


def _sgd_trainer(loss, **kwargs):
    # SGD: the update is the gradient times the rate, so equal updates mean
    # equal gradients (Adam would turn a zero gradient's rounding into a step).
    keras.utils.set_random_seed(0)
    model = make_trainer("none", inner_steps=1, compile_kwargs={"loss": loss}, **kwargs)
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss=loss)
    return model


@pytest.mark.parametrize("loss", ["non_saturating", "relativistic_average"])
def test_one_d_pass_gives_the_updates_of_g_first_then_d(loss):
    real = _batch(8)["images"]
    one_pass, reference = _sgd_trainer(loss), _sgd_trainer(loss)
    assert one_pass.one_pass
    one_pass.train_step({"images": real})
    # The step with a D pass per player: G's K = 1 updates, then D's on the fakes they drew.
    latent = reference._fake_latent(None, 0, 8)
    fake, _ = reference._generator_inner_loop(real, latent)
    reference._discriminator_step(real, fake, None, latent, None)
    moved = 0
    for ours, theirs, start in zip(one_pass.weights, reference.weights, _sgd_trainer(loss).weights):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6, err_msg=ours.path)
        moved += not np.allclose(ours.numpy(), start.numpy())
    assert moved > 10


@pytest.mark.parametrize("source, inner_steps", [("gradcam", 2), ("verdict", 1)])
def test_one_d_pass_gives_the_attention_steps_updates(source, inner_steps):
    def trainer():
        keras.utils.set_random_seed(0)
        generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=True)
        discriminator = Discriminator(SIZE, CHANNELS, width=8, attention=source)
        terms = [] if source != "verdict" else [Verdict.from_networks(generator, discriminator, name="verdict")]
        model = AttnGAN(
            generator, discriminator, LatentSpec(LATENT), mi_estimator=make_estimator(), seed=0,
            inner_steps=inner_steps, terms=terms,
        )
        model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
        return model

    real = _batch(8)["images"]
    one_pass, reference = trainer(), trainer()
    assert one_pass.one_pass
    one_pass.train_step({"images": real})
    latent = reference._fake_latent(None, 0, 8)
    fake, _ = reference._generator_inner_loop(real, latent)
    reference._discriminator_step(real, fake, None, latent, None)
    for ours, theirs in zip(one_pass.weights, reference.weights):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6, err_msg=ours.path)


def test_one_d_pass_makes_one_d_call_per_batch():
    calls = []

    class CountingDiscriminator(Discriminator):
        def call(self, images, **kwargs):
            calls.append(images.shape[0])
            return super().call(images, **kwargs)

    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=False)
    for normalization, d_steps, expected in (("none", 1, [4, 4]), ("none", 2, [2, 4, 4]), ("batch", 1, [4, 8])):
        discriminator = CountingDiscriminator(SIZE, CHANNELS, width=8, attention="none", normalization=normalization)
        model = GAN(generator, discriminator, LatentSpec(LATENT), seed=0, d_steps=d_steps)
        model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        assert model.one_pass is (d_steps == 1 and normalization == "none")
        calls.clear()
        model.train_step({"images": _batch(4)["images"]})
        assert calls == expected, (normalization, d_steps)


@pytest.mark.parametrize("jit", [False, True])
def test_lazy_penalty_every_n_d_updates_scaled_by_n(jit):
    options = {"penalty": "r1", "penalty_weight": 2.0, "penalty_every": 3}
    model = make_trainer("none", compile_kwargs=options)
    real = _batch()["images"]
    fake = model.generator({"z": tf.random.normal((4, LATENT), seed=1)})
    r1 = float(penalties.r1(model.discriminator, real, fake, None))
    penalty = tf.function(model._penalty, jit_compile=True) if jit else model._penalty
    for iteration, expected in [(0, 2.0 * 3 * r1), (1, 0.0), (2, 0.0), (3, 2.0 * 3 * r1)]:
        model.d_optimizer.iterations.assign(iteration)
        np.testing.assert_allclose(float(penalty(real, fake)), expected, rtol=1e-5)


def test_d_steps_updates_d_on_its_own_slices_of_the_batch():
    d_batches = []

    class RecordingDiscriminator(Discriminator):
        def call(self, images, training=None, return_attention=True):
            d_batches.append(np.asarray(images))
            return super().call(images, training, return_attention)

    model = GAN(
        build_generator(LATENT, SIZE, CHANNELS, width=4, use_mask=False),
        RecordingDiscriminator(SIZE, CHANNELS, width=4, attention="none"),
        LatentSpec(LATENT),
        d_steps=3,
        seed=0,
    )
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    images = _batch(6)["images"]
    model.train_step({"images": images})
    assert int(model.d_optimizer.iterations) == 3 and int(model.train_steps) == 1
    assert int(model.g_optimizer.iterations) == 1
    # The G step's D call on its 2 fakes, then each D update's [real; fake] call.
    d_steps = [batch for batch in d_batches if batch.shape[0] == 4]
    assert [batch.shape[0] for batch in d_batches] == [2, 4, 4, 4]
    for index, batch in enumerate(d_steps):
        np.testing.assert_array_equal(batch[:2], images[2 * index : 2 * index + 2])
    # Fresh fakes for every D update.
    assert not np.array_equal(d_steps[0][2:], d_steps[1][2:])


# Every loss and every penalty once in the default run; the whole product with -m slow.
_PENALTY_NAMES = sorted(penalties.PENALTIES)
_COVERING = {
    (loss, _PENALTY_NAMES[index % len(_PENALTY_NAMES)])
    for index, loss in enumerate(sorted(losses.LOSSES))
}


@pytest.mark.parametrize(
    "loss, penalty",
    [
        (loss, penalty) if (loss, penalty) in _COVERING
        else pytest.param(loss, penalty, marks=pytest.mark.slow)
        for loss in sorted(losses.LOSSES)
        for penalty in _PENALTY_NAMES
    ],
)
def test_one_step_of_every_loss_and_penalty(loss, penalty):
    model = make_trainer("none", compile_kwargs={"loss": loss, "penalty": penalty})
    # Not the biases: at the first step the hinge loss's pull on the head's
    # bias from the reals cancels the fakes' exactly.
    kernels = [v for v in model.discriminator.trainable_variables if v.name == "kernel"]
    before = _snapshot(kernels)
    logs = model.train_step(_batch())
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert (float(logs["d_penalty"]) > 0) is (penalty != "none")
    assert all(_changed(before, kernels))


def test_d_steps_with_a_mask_source_and_a_relativistic_loss():
    options = {"loss": "relativistic_average", "penalty": "wgan_gp", "penalty_every": 2}
    model = make_trainer(d_steps=2, compile_kwargs=options)
    logs = model.train_step(_batch(8))
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert int(model.d_optimizer.iterations) == 2 and int(model.g_optimizer.iterations) == 2


@pytest.mark.slow
def test_relativistic_loss_lazy_penalty_and_d_steps_under_xla():
    model = make_trainer(
        "none",
        d_steps=2,
        compile_kwargs={
            "loss": "relativistic_average",
            "penalty": "wgan_gp",
            "penalty_every": 2,
            "jit_compile": True,
            "steps_per_execution": 2,
        },
    )
    history = model.fit(real_dataset(8), steps_per_epoch=2, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert int(model.train_steps) == 2 and int(model.d_optimizer.iterations) == 4


def test_generate_pair_keeps_the_common_mask_effect_that_separate_calls_normalize_away():
    """In training mode, batch norm on separate calls removes a mask effect shared by the batch."""
    z = keras.Input((LATENT,), name="z")
    mask = keras.Input((SIZE, SIZE, 1), name="mask")
    shifted = keras.layers.Lambda(lambda t: t[0] + 3.0 * keras.ops.mean(t[1], axis=(1, 2)))([z, mask])
    generator = keras.Model({"z": z, "mask": mask}, keras.layers.BatchNormalization()(shifted))
    latent = {"z": tf.random.normal((8, LATENT), seed=1)}
    uniform, half = tf.ones((8, SIZE, SIZE, 1)), tf.fill((8, SIZE, SIZE, 1), 0.5)
    separate = generator({**latent, "mask": half}, training=True) - generator(
        {**latent, "mask": uniform}, training=True
    )
    np.testing.assert_allclose(separate, 0.0, atol=1e-4)
    previous, current = recurrence.generate_pair(generator, latent, uniform, half, training=True)
    # Joint statistics: the shift of -1.5 is divided by each feature's joint scale, not removed.
    change = (current - previous).numpy()
    assert np.all(change < -0.5) and np.allclose(change, change[:1], atol=1e-4)


@pytest.mark.slow
def test_ema_is_the_closed_form_average_of_the_generator_weights():
    model = make_trainer(ema_decay=0.5, ema_start=1)
    raw = []
    for _ in range(3):
        model.fit(real_dataset(), steps_per_epoch=1, epochs=1, verbose=0)
        raw.append([w.numpy() for w in model.generator.weights])
    # Step 0 copies (before ema_start); steps 1 and 2 average with decay 0.5.
    expected = [0.25 * a + 0.25 * b + 0.5 * c for a, b, c in zip(*raw)]
    averaged = [w.numpy() for w in model.ema_generator.weights]
    assert any(not np.allclose(a, w) for a, w in zip(averaged, raw[-1]))
    for a, e in zip(averaged, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    assert not model.ema_generator.trainable_weights
    assert model.inference_generator is model.ema_generator
    z = {"z": tf.random.normal((2, LATENT), seed=1)}
    np.testing.assert_allclose(
        model(z), synthesize(model.ema_generator, model.discriminator, z, 2)["images"], atol=1e-6
    )


@pytest.mark.slow  # XLA compilation: a minute on a 2-core CPU
def test_ema_under_xla_and_steps_per_execution_and_its_save_load_round_trip(tmp_path):
    model = make_trainer(
        ema_decay=0.9, compile_kwargs={"jit_compile": True, "steps_per_execution": 2}
    )
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert (restored.ema_decay, restored.ema_start) == (0.9, 0)
    for a, b in zip(model.ema_generator.weights, restored.ema_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = {"z": tf.random.normal((2, LATENT), seed=1)}
    np.testing.assert_allclose(restored(z), model(z), atol=1e-6)
