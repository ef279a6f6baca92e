"""Checks of the paths a user names, done before any work starts.

Each function raises ValueError naming the option (``--workdir`` on the
command line, ``out`` in Python) and what is wrong, so that a run that would
fail at its first write, after minutes of loading or training, fails at once
instead. This module imports no TensorFlow: the command line checks its
paths before paying TensorFlow's import time.
"""

import os


def _fail(name, path, problem):
    raise ValueError(f"`{name}` {problem}. Received: {name}={path!r}")


def _check_creatable(name, path):
    """`path` does not exist: its nearest existing ancestor must be a writable directory."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        _fail(name, path, f"cannot be created: {parent!r} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        _fail(name, path, f"cannot be created: directory {parent!r} is not writable")


def input_dir(name, path):
    """Checks that `path` is an existing directory (an export, a workdir)."""
    if not os.path.exists(path):
        _fail(name, path, "should be an existing directory, but nothing is there")
    if not os.path.isdir(path):
        _fail(name, path, "should be a directory, but it is a file")


def input_file(name, path):
    """Checks that `path` is an existing file (weights, a config)."""
    if not os.path.exists(path):
        _fail(name, path, "should be an existing file, but nothing is there")
    if os.path.isdir(path):
        _fail(name, path, "should be a file, but it is a directory")


def output_dir(name, path, empty=False, overwrite_option=None):
    """Checks that `path` is a writable directory or can be created as one.

    Args:
        name: the option's name, for the message (``"--out"``).
        path: the directory.
        empty: also require an existing directory to be empty, so that a
            new result never lands beside an older one.
        overwrite_option: the option that lifts `empty` (``"--overwrite"``),
            named in the message.
    """
    if not os.path.exists(path):
        _check_creatable(name, path)
        return
    if not os.path.isdir(path):
        _fail(name, path, "should be a directory, but it is a file")
    if not os.access(path, os.W_OK | os.X_OK):
        _fail(name, path, "should be a writable directory, but it is not writable")
    if empty and os.listdir(path):
        hint = f", or pass {overwrite_option} to replace its contents" if overwrite_option else ""
        _fail(
            name,
            path,
            f"should be a new or empty directory, but it holds {len(os.listdir(path))} "
            f"entries (an earlier result?). Choose a new directory{hint}",
        )


def output_file(name, path):
    """Checks that `path` can be written as a file (created or replaced)."""
    if os.path.isdir(path):
        _fail(name, path, "should be a file, but it is a directory")
    if not os.path.exists(path):
        _check_creatable(name, path)
    elif not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK | os.X_OK):
        # Files are written beside the target and renamed over it.
        _fail(name, path, "cannot be replaced: its directory is not writable")
