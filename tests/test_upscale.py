"""Super-resolution serving: the upscale signature, tiles, `attngan upscale`."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_trainer
from test_upscaler import sr_trainer

from keras_attngan.apps.tiling import (
    progress_bar,
    read_image,
    self_ensemble,
    upscale_file,
    upscale_tiled,
)
from keras_attngan.core import images as images_lib
from keras_attngan.export import deploy, loading, serving
from keras_attngan.networks.upscaler import receptive_radius
from keras_attngan.training.callbacks import SuperResolutionImages


@pytest.fixture(scope="module")
def sr_export(tmp_path_factory):
    model = sr_trainer(terms=False)
    detail = model.generator.get_layer("detail")
    # Non-zero detail, so G is more than interpolation.
    detail.kernel.assign(np.random.default_rng(0).normal(0, 0.1, detail.kernel.shape))
    path = str(tmp_path_factory.mktemp("export") / "1")
    serving.save(model, path)
    return model, path


def test_upscale_signature_round_trip_on_two_input_sizes(sr_export):
    model, path = sr_export
    loaded = tf.saved_model.load(path)
    assert {"serving_default", "upscale", "explain"} <= set(loaded.signatures)
    for shape in ((2, 4, 4, 3), (1, 5, 7, 3)):
        lowres = np.random.default_rng(1).uniform(-1, 1, shape).astype("float32")
        outputs = loaded.signatures["upscale"](lowres=tf.constant(lowres))
        expected = model.generator({"lowres": lowres})
        assert outputs["images"].shape == (shape[0], shape[1] * 4, shape[2] * 4, 3)
        np.testing.assert_allclose(outputs["images"], expected, atol=1e-5)
        assert outputs["images_uint8"].dtype == tf.uint8
    metadata = loading.load_metadata(path)
    assert metadata["scale"] == 4 and metadata["latent_dim"] is None
    with pytest.raises(Exception, match="lowres"):
        loaded.signatures["upscale"](lowres=tf.zeros((1, 4, 4, 1)))


def test_tiles_stitch_to_the_one_call_image(sr_export):
    model, _ = sr_export
    lowres = np.random.default_rng(2).uniform(-1, 1, (11, 13, 3)).astype("float32")
    whole = np.asarray(model.generator({"lowres": lowres[None]}))[0]
    calls = []
    tiled = upscale_tiled(
        lambda rows: model.generator({"lowres": rows}), lowres, 4, tile=4, margin=receptive_radius(1),
        progress=lambda done, total: calls.append((done, total)),
    )
    # No seams: with a margin of G's receptive radius every tile sees all it reads.
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    assert calls == [(done, 12) for done in range(1, 13)]
    # Too small a margin: only pixels near the tiles' edges change.
    narrow = upscale_tiled(lambda rows: model.generator({"lowres": rows}), lowres, 4, tile=4, margin=1)
    assert np.abs(narrow - whole).max() > 1e-4
    with pytest.raises(ValueError, match="--tile"):
        upscale_tiled(None, lowres, 4, tile=0)


def _nearest(rows):
    return np.repeat(np.repeat(rows, 2, axis=1), 2, axis=2)


def test_self_ensemble_keeps_an_equivariant_model_and_averages_out_a_directional_one():
    lowres = np.random.default_rng(4).uniform(-1, 1, (1, 5, 7, 3)).astype("float32")
    # Nearest-neighbour upscaling commutes with every flip and rotation.
    np.testing.assert_allclose(self_ensemble(_nearest)(lowres), _nearest(lowres), atol=1e-6)
    # A ramp along the width: the four rotations and their flips send it
    # along both axes, both ways, so the average keeps only its mean (0).
    ramp = lambda rows: _nearest(rows) + np.linspace(-1, 1, 2 * rows.shape[2])[None, None, :, None]  # noqa: E731
    np.testing.assert_allclose(self_ensemble(ramp)(lowres), _nearest(lowres), atol=1e-6)
    calls = []
    self_ensemble(lambda rows: calls.append(rows.shape) or _nearest(rows))(lowres)
    assert sorted(calls) == sorted([(1, 5, 7, 3), (1, 7, 5, 3)] * 4)


def test_progress_bar_draws_the_tiles_done():
    stream = io.StringIO()
    show = progress_bar(stream, width=4)
    show(1, 2)
    show(2, 2)
    assert stream.getvalue() == "\r[==  ] 1/2 tiles\r[====] 2/2 tiles\n"


def test_upscale_file_writes_the_upscaled_png_and_refuses_bad_input(sr_export, tmp_path):
    _, path = sr_export
    source = str(tmp_path / "in.png")
    images_lib.write_png(source, np.random.default_rng(3).integers(0, 256, (6, 9, 3)).astype(np.uint8))
    out = str(tmp_path / "out.png")
    assert upscale_file(path, source, out, tile=4, margin=6) == (24, 36, 3)
    assert read_image(out).shape == (24, 36, 3)
    ensembled = str(tmp_path / "ensembled.png")
    assert upscale_file(path, source, ensembled, tile=4, margin=6, ensemble=True) == (24, 36, 3)
    # G is not equivariant (random detail kernel): the average differs.
    assert np.abs(read_image(ensembled) - read_image(out)).max() > 0
    grey = str(tmp_path / "grey.png")
    tf.io.write_file(grey, tf.io.encode_png(np.zeros((6, 9, 1), np.uint8)))
    with pytest.raises(ValueError, match=r"--input.*3 channel"):
        upscale_file(path, grey, out)
    with pytest.raises(ValueError, match=r"--artifact"):
        upscale_file(path, source, out, artifact="onnx", margin=6)
    # An image smaller than the margin is refused before any model work.
    with pytest.raises(ValueError, match=r"--input.*--margin=8.*9x6"):
        upscale_file(path, source, out, margin=8)


@pytest.mark.slow
def test_upscale_refuses_a_noise_model(tmp_path):
    path = str(tmp_path / "1")
    serving.save(make_trainer("none", inner_steps=1), path)
    source = str(tmp_path / "in.png")
    images_lib.write_png(source, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"--model.*super-resolution"):
        upscale_file(path, source, str(tmp_path / "out.png"))


def test_super_resolution_pictures_show_four_columns(sr_export, tmp_path):
    model, _ = sr_export
    targets = np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    callback = SuperResolutionImages(str(tmp_path / "logs"), str(tmp_path / "samples"), targets, 4, every=1)
    callback.set_model(model)
    (picture,) = callback.pictures().values()
    # Cells of 16 px are enlarged to 64, 2 px padding: 4 columns, 2 rows, under a strip of labels.
    assert picture.shape[1:] == (4 * 66 + 2, 3) and picture.shape[0] > 2 * 66 + 2
    callback.run(1, {})
    assert os.path.exists(tmp_path / "samples" / "super_resolution.png")


@pytest.mark.slow
def test_sr_export_converts_to_tflite_and_onnx_with_parity(sr_export, tmp_path):
    _, path = sr_export
    import shutil

    copy = str(tmp_path / "1")
    shutil.copytree(path, copy)
    report = deploy.build(copy, ["tflite", "onnx"], ["float32"], count=2)
    assert not report["failures"], json.dumps(report["failures"])
    deployment = deploy.Deployment(copy)
    for artifact in ("tflite/float32", "onnx"):
        for shape in ((1, 4, 4, 3), (1, 6, 5, 3)):
            lowres = np.random.default_rng(5).uniform(-1, 1, shape).astype("float32")
            ours = deployment.runner(artifact)({"lowres": lowres})["images"]
            reference = deployment.runner("savedmodel")({"lowres": lowres})["images"]
            np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_noise_commands_refuse_a_super_resolution_export(sr_export):
    from keras_attngan.apps.evaluation import load_subject
    from keras_attngan.apps.synthesis import from_export

    _, path = sr_export
    with pytest.raises(ValueError, match=r"--model.*attngan upscale"):
        from_export(path, 2)
    with pytest.raises(ValueError, match=r"--model.*super-resolution"):
        load_subject(path)
