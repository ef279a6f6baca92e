"""A class-conditional GAN end to end: train, export with labels, synthesize a class, evaluate."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from keras_attngan.apps import synthesis
from keras_attngan.apps.evaluation import evaluate
from keras_attngan.export import deploy, loading
from keras_attngan.training.experiment import restore_trainer
from keras_attngan.training.loop import train

CLASSES = 3


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    """A 4-step Grad-CAM projection GAN on symbols, evaluated during training, exported at its end."""
    config = tiny_config(
        "symbols_conditional",
        **{"model.mask_source": "gradcam", "log.eval_every": 4, "log.eval_metrics": "fid,intra_fid",
           "log.eval_num": 32},
    )
    workdir, export_path = train(config, str(tmp_path_factory.mktemp("conditional")))
    model, _, _ = restore_trainer(config, workdir)
    return config, workdir, export_path, model


@pytest.mark.slow
def test_the_export_takes_the_label_in_every_signature(conditional_run):
    _, _, export_path, model = conditional_run
    loaded = tf.saved_model.load(export_path)
    latent = {"z": tf.random.normal((6, 16), seed=1), "label": tf.constant([0, 1, 2, 0, 1, 2], tf.int32)}
    served = loaded.signatures["serving_default"](**latent)["images"]
    np.testing.assert_allclose(served, model.synthesize(latent)["images"], atol=1e-5)
    # The label is read: another class, another image from the same z.
    other = loaded.signatures["serving_default"](z=latent["z"], label=tf.roll(latent["label"], 1, 0))["images"]
    assert np.abs(np.asarray(other) - np.asarray(served)).max() > 1e-4
    mask = tf.random.uniform((6, 16, 16, 1), seed=2)
    generated = loaded.signatures["generate"](**latent, mask=mask)["images"]
    np.testing.assert_allclose(generated, model.inference_generator({**latent, "mask": mask}), atol=1e-5)
    explained = loaded.signatures["explain"](images=served, label=latent["label"])
    expected = model.discriminator(served, labels=latent["label"])
    np.testing.assert_allclose(explained["logits"], expected["logits"], atol=1e-4)
    drawn = loaded.signatures["sample"](seed=tf.constant(3, tf.int64), count=tf.constant(32))
    assert drawn["label"].dtype == tf.int32 and set(np.asarray(drawn["label"])) == set(range(CLASSES))
    assert loading.load_metadata(export_path)["latent"]["num_classes"] == CLASSES


@pytest.mark.slow
@pytest.mark.parametrize("label", [-1, CLASSES])
def test_a_label_out_of_range_is_refused_by_the_export(conditional_run, label):
    _, _, export_path, _ = conditional_run
    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Input .+label.+ should be in \[0, 3\)"):
        serve(z=tf.zeros((2, 16)), label=tf.constant([0, label], tf.int32))


@pytest.mark.slow
def test_synthesize_draws_the_asked_class_and_records_it(conditional_run, tmp_path):
    _, _, export_path, _ = conditional_run
    images, latent = synthesis.from_export(export_path, 4, seed=5, label=2)
    np.testing.assert_array_equal(latent["label"], [2, 2, 2, 2])
    serve = tf.saved_model.load(export_path).signatures["serving_default"]
    expected = serve(z=tf.constant(latent["z"]), label=tf.constant(latent["label"]))["images"]
    np.testing.assert_array_equal(images, synthesis.images_lib.to_uint8(np.asarray(expected)))
    # Without --label, uniform classes; z is the unconditional draw of the same seed.
    _, drawn = synthesis.from_export(export_path, 64, seed=5)
    assert set(drawn["label"]) == set(range(CLASSES))
    np.testing.assert_array_equal(drawn["z"][:4], latent["z"])
    (path,) = synthesis.write(images, latent, str(tmp_path / "npz"), "npz")
    with np.load(path) as archive:
        np.testing.assert_array_equal(archive["label"], latent["label"])
    (path,) = synthesis.write(images, latent, str(tmp_path / "tfrecord"), "tfrecord")
    spec = {"label": tf.io.FixedLenFeature([], tf.int64)}
    labels = [int(tf.io.parse_single_example(r, spec)["label"]) for r in tf.data.TFRecordDataset(path)]
    assert labels == [2, 2, 2, 2]


@pytest.mark.slow
@pytest.mark.parametrize("label, match", [(3, r"--label.*\[0, 3\).*Received: --label=3"), (-1, r"--label=-1")])
def test_synthesize_refuses_a_label_out_of_range(conditional_run, label, match):
    _, _, export_path, _ = conditional_run
    with pytest.raises(ValueError, match=match):
        synthesis.from_export(export_path, 2, label=label)


@pytest.mark.slow
def test_evaluate_scores_the_classes_it_asked_for(conditional_run):
    _, workdir, export_path, _ = conditional_run
    result = evaluate(export_path, metrics="fid,intra_fid,mask_usage", num=48, num_real=48)
    metrics = result["metrics"]
    assert np.isfinite(metrics["fid"]) and metrics["fid"] > 0
    # intra-FID groups the fakes by the labels drawn: 48 uniform draws over 3 classes.
    fake_counts = [counts[1] for counts in metrics["intra_fid"]["counts"].values()]
    drawn = loading.export_latent(export_path).inputs_numpy(48, 0)["label"]
    assert fake_counts == np.bincount(drawn, minlength=CLASSES).tolist()
    assert 0 <= metrics["mask_usage"]["mi_ceiling"] and np.isfinite(metrics["mask_usage"]["content_sensitivity"])
    with pytest.raises(ValueError, match="faithfulness.*class-conditional"):
        evaluate(export_path, metrics="faithfulness", num=16)


@pytest.mark.slow
def test_evaluation_during_training_ran_on_the_conditional_model(conditional_run):
    from tensorboard.backend.event_processing import event_accumulator

    _, workdir, _, _ = conditional_run
    accumulator = event_accumulator.EventAccumulator(
        workdir.logs + "/eval", size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    assert {"metrics/fid", "metrics/intra_fid"} <= set(accumulator.Tags()["tensors"])
    usage = event_accumulator.EventAccumulator(
        workdir.logs + "/mask_usage", size_guidance={event_accumulator.TENSORS: 0}
    )
    usage.Reload()
    assert [event.step for event in usage.Tensors("mask_usage/content_sensitivity")] == [2, 4]


@pytest.mark.slow
def test_tflite_and_onnx_take_the_label_and_match_the_savedmodel(conditional_run, tmp_path):
    _, _, _, model = conditional_run
    path = deploy.export(model, str(tmp_path / "deploy"), "savedmodel,tflite,onnx", "float32")
    report = deploy.load_report(path)
    assert report["failures"] == {}
    for artifact in ("tflite/float32", "onnx"):
        for signature, outputs in report["parity"][artifact].items():
            assert outputs["images" if signature == "serving_default" else "logits"]["max_abs_diff"] <= 1e-4
    deployment = deploy.Deployment(path)
    inputs = {"z": np.zeros((2, 16), np.float32), "label": np.array([0, 2], np.int32)}
    for artifact in ("tflite/float32", "onnx"):
        images = deployment.runner(artifact)(inputs)["images"]
        np.testing.assert_allclose(images, deployment.runner("savedmodel")(inputs)["images"], atol=1e-4)
        # The converters drop the in-graph range check; the runner keeps it.
        with pytest.raises(ValueError, match=r"Input 'label' should be in \[0, 3\); it holds 0..3"):
            deployment.runner(artifact)({**inputs, "label": np.array([0, 3], np.int32)})
