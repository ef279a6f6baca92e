"""The documents say what the code does: the README's Python example runs as written (with
a shorter fit), and the configuration reference's table (docs/configuration.md) shows the
defaults `default_config` sets."""

import ast
import os
import re

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
CONFIGURATION = os.path.join(REPO, "docs", "configuration.md")


@pytest.mark.slow
def test_python_example_runs(tmp_path, monkeypatch):
    with open(README) as f:
        text = f.read()
    section = text[text.index("## Use it from Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "steps_per_epoch=250, epochs=12" in code
    code = code.replace("steps_per_epoch=250, epochs=12", "steps_per_epoch=2, epochs=1")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["images"].shape == (16, 32, 32, 3)
    attention = np.asarray(namespace["explained"]["attention"])
    assert attention.shape == (16, 32, 32, 1) and 0 <= attention.min() and attention.max() <= 1
    assert os.path.exists(tmp_path / "samples" / "samples.png")


def _shown(value):
    """A table cell as the Python value it shows: a literal, or a bare name as a string."""
    value = value.strip().strip("`")
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def test_configuration_table_shows_the_defaults():
    from keras_attngan.training.config import default_config

    with open(CONFIGURATION) as f:
        rows = re.findall(r"^\| `((?:data|model|train|log)\.[a-z0-9_.]+)` \| ([^|]*) \|", f.read(), re.M)
    assert len(rows) > 50
    config = default_config()
    wrong = {}
    for key, shown in rows:
        section, name = key.split(".", 1)
        actual = config[section][name]
        if _shown(shown) != actual:
            wrong[key] = (shown.strip(), actual)
    assert not wrong, f"docs/configuration.md table cell against default_config: {wrong}"
