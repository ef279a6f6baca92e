"""Versioned exports survive a kill at any point: a complete latest version always remains."""

import os
import shutil

import pytest
import tensorflow as tf
from conftest import make_trainer

from keras_attngan.export import loading, serving, versioning


class Killed(BaseException):
    """The process died here (BaseException: no `except Exception` catches it)."""


class Killer:
    """Kills the export at the `at`-th file-system step; later steps never happen.

    A real kill runs no `finally` clean-up either, so once killed every
    patched step (renames, the exchange, deletions) is a no-op.
    """

    def __init__(self, monkeypatch, at):
        self.at, self.calls, self.dead = at, 0, False
        for owner, name in [(os, "rename"), (versioning, "_exchange"), (shutil, "rmtree")]:
            monkeypatch.setattr(owner, name, self._wrap(getattr(owner, name)))

    def _wrap(self, step):
        def patched(*args, **kwargs):
            if self.dead:
                return None
            if self.calls == self.at:
                self.dead = True
                raise Killed
            self.calls += 1
            return step(*args, **kwargs)

        return patched


def _marker(path):
    return loading.load_metadata(path)["config"]["marker"]


@pytest.mark.slow
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_kill_at_any_step_leaves_a_complete_latest_version(tmp_path, monkeypatch, overwrite):
    model = make_trainer("none")
    base = str(tmp_path)
    serving.save_version(model, base, {"marker": "old"}, version=3)
    point = 0
    while True:
        with monkeypatch.context() as patch:
            killer = Killer(patch, point)
            try:
                serving.save_version(model, base, {"marker": "new"}, version=3, overwrite=overwrite)
            except Killed:
                pass
        latest = loading.resolve_export(base)
        tf.saved_model.load(latest).signatures["serving_default"](z=tf.zeros((1, 8)))
        # Overwriting keeps the number; otherwise the new export takes 4.
        expected = {"old": "3", "new": "3" if overwrite else "4"}[_marker(latest)]
        assert os.path.basename(latest) == expected
        if not killer.dead:
            break
        # The next export cleans the killed one's staging directory up.
        assert [n for n in os.listdir(base) if n.startswith(versioning.STAGING_PREFIX)]
        serving.save_version(model, base, {"marker": "old"}, version=3, overwrite=True)
        shutil.rmtree(os.path.join(base, "4"), ignore_errors=True)
        assert sorted(os.listdir(base)) == ["3"]
        point += 1
    assert point >= 2  # the kill hit the publish step and the clean-up after it
    assert _marker(loading.resolve_export(base)) == "new"


def test_a_kill_while_saving_leaves_the_previous_version(tmp_path, monkeypatch):
    model = make_trainer("none")
    previous = serving.save_version(model, str(tmp_path), version=5)

    def killed_save(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(tf.saved_model, "save", killed_save)
    monkeypatch.setattr(shutil, "rmtree", lambda *args, **kwargs: None)  # dead: no clean-up
    with pytest.raises(Killed):
        serving.save_version(model, str(tmp_path), version=5)
    monkeypatch.undo()
    assert loading.resolve_export(str(tmp_path)) == previous
    stale = [n for n in os.listdir(tmp_path) if n.startswith(versioning.STAGING_PREFIX)]
    assert len(stale) == 1


def test_stale_staging_is_cleaned_but_a_live_exporters_is_kept(tmp_path):
    dead = tmp_path / ".tmp-7-999999999-abc"  # no such pid
    legacy = tmp_path / ".tmp-7-xyz"  # older releases named no pid
    live = tmp_path / f".tmp-7-{os.getppid()}-abc"
    for path in (dead, legacy, live):
        path.mkdir()
    assert sorted(versioning.clean_stale_staging(str(tmp_path))) == sorted([dead.name, legacy.name])
    assert sorted(os.listdir(tmp_path)) == [live.name]


def test_choose_version(tmp_path):
    assert versioning.choose_version(str(tmp_path / "absent"), 10) == 10
    for name in ("3", "12", ".tmp-40-1-x"):
        (tmp_path / name).mkdir()
    assert versioning.versions(str(tmp_path)) == [3, 12]
    assert versioning.choose_version(str(tmp_path), 5) == 5
    assert versioning.choose_version(str(tmp_path), 3) == 13
    assert versioning.choose_version(str(tmp_path), 3, overwrite=True) == 3
    assert versioning.choose_version(str(tmp_path), 5, renumber=False) == 5
    with pytest.raises(versioning.VersionExistsError, match="Version 3 exists") as exists:
        versioning.choose_version(str(tmp_path), 3, renumber=False)
    assert exists.value.path == str(tmp_path / "3") and exists.value.version == 3
    assert versioning.choose_version(str(tmp_path), 3, overwrite=True, renumber=False) == 3
    with pytest.raises(versioning.VersionExistsError, match="Version 12 exists"):
        versioning.publish(str(tmp_path / "3"), str(tmp_path), 12)
