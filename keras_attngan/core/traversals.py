"""Latent grids that show what InfoGAN's codes control (Chen et al., 2016, figures 2-5).

Each function returns G's latent inputs for a grid of cells, row by row,
with everything but the swept codes fixed: one noise vector and one draw of
the other codes (`LatentSpec.sample_numpy` from `seed`) shared by every
cell, so a change across the grid is the codes' doing. NumPy, outside the
graph: the callbacks render the grids between train steps.
"""

import numpy as np


def sweep(value_range, steps):
    """``steps`` evenly spaced values over ``value_range`` = (low, high), ends included."""
    low, high = value_range
    return np.linspace(low, high, steps, dtype=np.float32)


def _fixed(spec, count, seed):
    """One seeded draw of z and every code, repeated `count` times."""
    z, categories, values = spec.sample_numpy(1, seed)
    return (
        np.repeat(z, count, axis=0),
        {name: np.repeat(v, count) for name, v in categories.items()},
        {name: np.repeat(v, count) for name, v in values.items()},
    )


def _latent(spec, z, categories, values):
    return {"z": z, "codes": np.asarray(spec.encode(categories, values))}


def category_grid(spec, category, columns, swept=None, seed=0):
    """Rows: the values of categorical code `category`; columns: a continuous code swept.

    Args:
        spec: the `keras_attngan.LatentSpec`.
        category: name of a categorical code.
        columns: name of a continuous code, swept over the values `swept`;
            or an int: that many columns, each with its own seeded noise and
            codes (for a spec without continuous codes).
        swept: the continuous code's values, one per column (`sweep`).
        seed: seed of the fixed noise and codes.

    Returns:
        (latent inputs for ``K * C`` cells, row by row; C, the number of columns).
    """
    num_values = spec.code(category, "category").num_values
    if isinstance(columns, int):
        count = columns
        z, categories, values = spec.sample_numpy(count, seed)
        z = np.tile(z, (num_values, 1))
        categories = {name: np.tile(v, num_values) for name, v in categories.items()}
        values = {name: np.tile(v, num_values) for name, v in values.items()}
    else:
        spec.code(columns, "columns")
        count = len(swept)
        z, categories, values = _fixed(spec, num_values * count, seed)
        values[columns] = np.tile(np.asarray(swept, np.float32), num_values)
    categories[category] = np.repeat(np.arange(num_values, dtype=np.int32), count)
    return _latent(spec, z, categories, values), count


def pair_grid(spec, rows, columns, value_range=(-2.0, 2.0), steps=7, seed=0):
    """A 2-D traversal: continuous code `rows` down, `columns` across, the rest fixed.

    Returns:
        (latent inputs for ``steps * steps`` cells, row by row; steps).
    """
    spec.code(rows, "rows")
    spec.code(columns, "columns")
    swept = sweep(value_range, steps)
    z, categories, values = _fixed(spec, steps * steps, seed)
    values[rows] = np.repeat(swept, steps)
    values[columns] = np.tile(swept, steps)
    return _latent(spec, z, categories, values), steps


def code_grids(spec, value_range=(-2.0, 2.0), steps=7, seed=0):
    """Every grid of a spec: ``{picture name: (latent inputs, columns)}``.

    Per categorical code ``category_NAME`` (its values down, the first
    continuous code swept across, or `steps` noise draws without one), and
    per pair of continuous codes ``traversal_A_B``.
    """
    grids = {}
    continuous = [c.name for c in spec.continuous]
    for code in spec.categorical:
        columns = continuous[0] if continuous else steps
        grids[f"category_{code.name}"] = category_grid(
            spec, code.name, columns, sweep(value_range, steps), seed
        )
    for index, first in enumerate(continuous):
        for second in continuous[index + 1 :]:
            grids[f"traversal_{first}_{second}"] = pair_grid(spec, first, second, value_range, steps, seed)
    return grids
