"""The README's Python example runs as written (with a shorter fit)."""

import os
import re

import numpy as np

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


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
