"""InfoGAN's code grids: the documented layout, and the callback that draws them."""

import os

import numpy as np
from conftest import make_info_trainer

from keras_attngan.core import images as images_lib
from keras_attngan.core.latent import CategoricalCode, ContinuousCode, LatentSpec
from keras_attngan.core.traversals import category_grid, code_grids, pair_grid, sweep
from keras_attngan.training.callbacks import CodeGrids


def _spec(continuous=("a", "b", "c")):
    return LatentSpec(3, categorical=[CategoricalCode("digit", 4)], continuous=[ContinuousCode(n) for n in continuous])


def test_category_grid_rows_are_categories_and_columns_sweep_one_code():
    spec = _spec()
    latent, columns = category_grid(spec, "digit", "b", sweep((-2, 2), 5), seed=1)
    assert columns == 5 and latent["codes"].shape == (20, spec.code_dim)
    categories, values = spec.decode(latent["codes"])
    np.testing.assert_array_equal(np.reshape(categories["digit"], (4, 5)), np.repeat(np.arange(4), 5).reshape(4, 5))
    np.testing.assert_allclose(np.reshape(values["b"], (4, 5)), np.tile([-2, -1, 0, 1, 2], (4, 1)))
    for fixed in (values["a"], values["c"], latent["z"]):
        np.testing.assert_array_equal(fixed, np.repeat(np.asarray(fixed)[:1], 20, axis=0))


def test_pair_grid_sweeps_two_codes_with_the_rest_fixed():
    spec = _spec()
    latent, columns = pair_grid(spec, "a", "c", (-1.0, 3.0), steps=3)
    categories, values = spec.decode(latent["codes"])
    np.testing.assert_allclose(np.reshape(values["a"], (3, 3)), [[-1] * 3, [1] * 3, [3] * 3])
    np.testing.assert_allclose(np.reshape(values["c"], (3, 3)), [[-1, 1, 3]] * 3)
    assert len(set(np.asarray(values["b"]).tolist())) == 1 and len(set(np.asarray(categories["digit"]).tolist())) == 1


def test_code_grids_names_one_grid_per_category_and_per_pair():
    assert set(code_grids(_spec(), steps=3)) == {
        "category_digit", "traversal_a_b", "traversal_a_c", "traversal_b_c"
    }
    latent, columns = code_grids(_spec(()), steps=3)["category_digit"]  # no continuous code
    assert columns == 3 and len(latent["z"]) == 12 and len({tuple(z) for z in latent["z"]}) == 3


def test_code_grids_callback_writes_pngs_and_summaries(tmp_path):
    model = make_info_trainer("learned")
    callback = CodeGrids(str(tmp_path / "logs"), str(tmp_path / "samples"), every=1, steps=3)
    callback.set_model(model)
    pictures = callback.pictures()
    assert set(pictures) == {"category_digit", "traversal_width_tilt"}
    # 3 categories x 3 sweep values of 16x16 cells (enlarged to 64 pixels, 2 of padding).
    cell = 64 + 2
    assert pictures["category_digit"].shape == (3 * cell + 2, 3 * cell + 2, 3)
    assert images_lib.grid(np.zeros((9, 16, 16, 3), np.uint8), columns=3).shape == pictures["traversal_width_tilt"].shape
    callback.run(1, {})
    assert os.path.exists(tmp_path / "samples" / "traversal_width_tilt.png")
    assert os.listdir(tmp_path / "logs" / "codes")
