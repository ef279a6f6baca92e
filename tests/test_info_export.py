"""An InfoGAN model's export takes the codes; `synthesize` draws what the user asks."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_info_trainer

from keras_attngan.apps import synthesis
from keras_attngan.export import loading, serving


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = make_info_trainer("learned")
    path = serving.save_version(model, str(tmp_path_factory.mktemp("export") / "export"))
    return model, path, tf.saved_model.load(path)


@pytest.mark.slow
def test_signatures_take_the_codes(exported):
    model, path, loaded = exported
    latent = model.latent.sample(3, 1)
    served = loaded.signatures["serving_default"](**latent)["images"]
    np.testing.assert_allclose(served, model.synthesize(latent)["images"], atol=1e-5)
    mask = tf.random.uniform((3, 16, 16, 1), seed=2)
    generated = loaded.signatures["generate"](**latent, mask=mask)["images"]
    np.testing.assert_allclose(generated, model.generator({**latent, "mask": mask}), atol=1e-5)
    first, again = (loaded.signatures["sample"](seed=tf.constant(7, tf.int64), count=tf.constant(4)) for _ in range(2))
    np.testing.assert_array_equal(first["codes"], again["codes"])
    np.testing.assert_array_equal(np.asarray(first["codes"])[:, :3].sum(axis=1), 1.0)
    assert loading.load_metadata(path)["latent"] == model.latent.get_config()


def test_synthesize_draws_the_asked_category_and_code(exported):
    model, path, loaded = exported
    images, latent = synthesis.from_export(path, 3, seed=5, category=2, codes=["width=1.5"])
    z = latent["z"]
    _, categories, values = model.latent.sample_numpy(3, 5)
    categories["digit"][:] = 2
    values["width"][:] = 1.5
    expected = loaded.signatures["serving_default"](z=z, codes=model.latent.encode(categories, values))["images"]
    np.testing.assert_array_equal(images, synthesis.images_lib.to_uint8(expected))


@pytest.mark.parametrize(
    "category, codes, match",
    [
        (3, (), r"--category.*\[0, 3\).*'digit'.*Received: --category=3"),
        (None, ("size=1",), r"--code.*\['digit', 'width', 'tilt'\].*Received: --code='size'"),
        (None, ("digit=7",), r"--code.*'digit'.*\[0, 3\).*Received: --code='digit=7'"),
        (None, ("width",), r"--code.*NAME=VALUE"),
        (None, ("width=wide",), r"--code.*NAME=NUMBER"),
    ],
)
def test_bad_code_choices_are_refused_naming_the_flag(exported, category, codes, match):
    with pytest.raises(ValueError, match=match):
        synthesis.parse_code_choices(exported[0].latent, category, codes)


def test_codes_on_a_model_without_codes_are_refused():
    from keras_attngan.core.latent import LatentSpec

    with pytest.raises(ValueError, match="--category.*no"):
        synthesis.parse_code_choices(LatentSpec(4), 1)


def test_evaluation_draws_the_codes_as_synthesize_does(exported):
    from keras_attngan.apps.evaluation import load_subject
    from keras_attngan.metrics.suite import MetricOptions, mask_usage_of

    model, path, _ = exported
    subject = load_subject(path)
    assert subject.latent.get_config() == model.latent.get_config()
    latent = subject.latent.inputs_numpy(4, 9)
    images, drawn = synthesis.from_export(path, 4, seed=9)
    np.testing.assert_array_equal(drawn["codes"], latent["codes"])
    np.testing.assert_array_equal(synthesis.images_lib.to_uint8(subject.generate(latent)), images)
    usage = mask_usage_of(subject, seed=0, options=MetricOptions(mask_usage_num=8, mask_usage_cell_size=4))
    assert np.isfinite(usage["content_sensitivity"]) and usage["mi_ceiling"] > 0


@pytest.mark.slow
def test_tflite_and_onnx_take_the_codes_and_match_the_savedmodel(exported, tmp_path):
    from keras_attngan.export import deploy

    model, _, _ = exported
    path = deploy.export(model, str(tmp_path / "deploy"), "savedmodel,tflite,onnx", "float32")
    report = deploy.load_report(path)
    assert report["failures"] == {}
    deployment = deploy.Deployment(path)
    assert set(deployment.specs("serving_default")) == {"z", "codes"}
    inputs = model.latent.inputs_numpy(3, 4, categories={"digit": 1})
    reference = deployment.runner("savedmodel")(inputs)["images"]
    for artifact in ("tflite/float32", "onnx"):
        assert report["parity"][artifact]["serving_default"]["images"]["max_abs_diff"] <= 1e-4
        np.testing.assert_allclose(deployment.runner(artifact)(inputs)["images"], reference, atol=1e-4)
