"""A workdir's checkpoints: the one place that finds the newest good one.

TF writes each checkpoint under ``ckpt-N_temp``, renames it into place and
only then lists it in the ``checkpoint`` index file, so an interrupted write
leaves the previous checkpoint the latest and intact. What that protocol
cannot help with is damage after the write: a full disk, a copy cut short, a
file zero-filled by a crashed host. `recover` checks a workdir before any
command reads it: from the newest checkpoint back, each is read whole
(index, every tensor with its checksum, every float finite) until one
passes; the damaged ones and a damaged index or ``config.json`` are moved
into ``damaged/`` beside them (never deleted), named in one warning line,
and the index is rewritten to the newest good checkpoint. `attngan train`,
`export` and `evaluate` all go through it.
"""

import dataclasses
import glob
import json
import os
import re
import shutil
import warnings

import numpy as np
import tensorflow as tf

from keras_attngan.core.errors import DamagedFileError, DamagedFileWarning

# Where the run's config lands in a checkpoint (read without building a model).
CONFIG_TENSOR = "config/.ATTRIBUTES/py_state"
DAMAGED = "damaged"
_INDEX = "checkpoint"


@dataclasses.dataclass(frozen=True)
class Recovery:
    """What `recover` did.

    Attributes:
        latest: the newest good checkpoint's prefix, or None.
        damaged: one line per damaged file or checkpoint moved aside.
        removed: the paths of interrupted writes removed.
    """

    latest: str | None
    damaged: tuple = ()
    removed: tuple = ()


def number(path):
    """N of a ``ckpt-N...`` path, or None."""
    match = re.match(r"ckpt-(\d+)(?:\.|_temp$|$)", os.path.basename(path))
    return int(match.group(1)) if match else None


def config_in_checkpoint(prefix):
    """The config JSON text stored in checkpoint `prefix`, or None for an older one."""
    reader = tf.train.load_checkpoint(prefix)
    if not reader.has_tensor(CONFIG_TENSOR):
        return None
    text = reader.get_tensor(CONFIG_TENSOR)
    return text.decode() if isinstance(text, bytes) else text


def problem_with(prefix):
    """What is wrong with checkpoint `prefix`, as ``(file, problem)``, or None when it reads whole."""
    index = f"{prefix}.index"
    if not os.path.exists(index):
        return index, "missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
        return index, _reason(error)
    data = sorted(glob.glob(f"{glob.escape(prefix)}.data-*"))
    data_file = data[0] if len(data) == 1 else f"{prefix}.data-*"
    for name, dtype in reader.get_variable_to_dtype_map().items():
        try:
            value = reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
            # TF names the shard it could not open; a short read names none.
            named = re.search(r"\S+\.data-\d+-of-\d+", str(error))
            return (named.group(0) if named else data_file), _reason(error)
        if dtype.is_floating and not np.all(np.isfinite(value)):
            return data_file, f"{name} is not finite"
    return None


def _reason(error):
    text = " ".join(str(error).split())
    for known, reason in (
        ("Read less bytes", "truncated"),
        ("truncated", "truncated"),
        ("Checksum does not match", "checksum mismatch"),
        ("corrupted", "corrupt"),
        ("not an sstable", "not a checkpoint index"),
        ("Not found", "missing"),
    ):
        if known.lower() in text.lower():
            return reason
    return text[:120]


def move_aside(directory, paths):
    """Moves `paths` into ``directory/damaged/`` without replacing an earlier one; returns it."""
    target = os.path.join(directory, DAMAGED)
    os.makedirs(target, exist_ok=True)
    for path in paths:
        destination, copy = os.path.join(target, os.path.basename(path)), 1
        while os.path.exists(destination):
            destination, copy = os.path.join(target, f"{os.path.basename(path)}.{copy}"), copy + 1
        os.replace(path, destination)
    return target


def _listed(directory):
    """The checkpoint numbers the index lists (newest last), or None when it is missing or damaged."""
    if not os.path.exists(os.path.join(directory, _INDEX)):
        return None
    try:
        state = tf.train.get_checkpoint_state(directory)
    except Exception:  # noqa: BLE001  (a text proto parser error, bad UTF-8, ...)
        return None
    if state is None or not state.model_checkpoint_path:
        return None
    listed = [number(p) for p in list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]]
    return sorted({n for n in listed if n is not None})


def recover(directory):
    """Makes the newest good checkpoint of `directory` its latest; see the module docstring.

    Returns:
        A `Recovery`. The warning line is also issued as a
        `keras_attngan.core.errors.DamagedFileWarning`.
    """
    if not os.path.isdir(directory):
        return Recovery(None)
    damaged, removed = [], []
    index = os.path.join(directory, _INDEX)
    listed = _listed(directory)
    files = {}
    for path in sorted(glob.glob(os.path.join(directory, "ckpt-*"))):
        if path.endswith("_temp") and os.path.isdir(path):
            shutil.rmtree(path)  # TF's staging of a write that never finished
            removed.append(path)
        elif number(path) is not None:
            files.setdefault(number(path), []).append(path)
    if listed is None and os.path.exists(index):
        damaged.append(f"{index} is unreadable (moved to {move_aside(directory, [index])})")
    elif listed is None and files:
        damaged.append(f"{index} is missing")
    if listed is not None:
        # Files newer than the index's latest were written by a save that
        # died before listing them: the index never made them the run's state.
        for n in [n for n in files if n > max(listed)]:
            for path in files.pop(n):
                os.remove(path)
                removed.append(path)
    candidates = sorted(files if listed is None else set(listed) | set(files), reverse=True)
    latest = None
    for n in candidates:
        prefix = os.path.join(directory, f"ckpt-{n}")
        problem = problem_with(prefix)
        if problem is None:
            latest = prefix
            break
        where = move_aside(directory, files.get(n, []))
        damaged.append(f"{problem[0]} is {problem[1]} (ckpt-{n} moved to {where})")
    kept = [n for n in candidates if latest and n <= number(latest)]
    if damaged and latest:
        tf.compat.v1.train.update_checkpoint_state(
            directory, os.path.basename(latest), [f"ckpt-{n}" for n in sorted(kept)]
        )
    elif damaged and os.path.exists(index):
        move_aside(directory, [index])  # it lists nothing good
    if damaged:
        then = f"going on from {os.path.basename(latest)}" if latest else "no intact checkpoint is left"
        warnings.warn(f"{'; '.join(damaged)}; {then}.", DamagedFileWarning, stacklevel=2)
    return Recovery(latest, tuple(damaged), tuple(removed))


def recover_config(config_file, checkpoint):
    """Checks a workdir's ``config.json``; a damaged one is moved aside.

    A damaged or missing config.json is rewritten from the newest good
    checkpoint when that stores its config (it is the one its weights were
    trained with).

    Args:
        config_file: the workdir's config.json.
        checkpoint: the newest good checkpoint's prefix, or None.

    Raises:
        keras_attngan.core.errors.DamagedFileError: config.json is damaged and no
            checkpoint holds the config.
    """
    text = config_in_checkpoint(checkpoint) if checkpoint else None
    if not os.path.exists(config_file):
        if text is None:
            return  # a new workdir, or checkpoints older than stored configs
        problem, where = "missing", None
    else:
        try:
            with open(config_file) as f:
                json.load(f)
            return
        except (ValueError, UnicodeDecodeError) as error:
            problem = f"not JSON: {' '.join(str(error).split())[:80]}"
        if text is None:
            raise DamagedFileError(
                config_file,
                problem,
                "restore it from a copy, or train again in a new --workdir (no checkpoint "
                "here stores the config)",
            )
        where = move_aside(os.path.dirname(config_file), [config_file])
    temporary = config_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(json.dumps(json.loads(text), indent=2, sort_keys=True))
    os.replace(temporary, config_file)
    moved = f"; moved to {where}" if where else ""
    warnings.warn(
        f"{config_file} was damaged ({problem}{moved}); rewritten from "
        f"{os.path.basename(checkpoint)}.",
        DamagedFileWarning,
        stacklevel=2,
    )
