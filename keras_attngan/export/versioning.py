"""Numbered model versions, published atomically (TF Serving's directory layout).

A model's base directory holds numbered versions, ``BASE/VERSION/``, and TF
Serving serves the highest. A version is written to a hidden staging directory
beside them (``BASE/.tmp-VERSION-PID-XXXXXX``) and published by one atomic
rename, so a reader (TF Serving's file-system poll, `serving.resolve_export`)
finds either the previous versions or the complete new one, never a partial
one, whenever the writer is killed.

Overwriting a version exchanges the staging directory and the version
directory in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``): at every
instant the number holds the old model or the new one. Two renames (old out,
new in) leave the number empty in between, and a crash there loses the model.
Where the exchange is not available, overwriting is refused.

A killed export leaves its staging directory behind; the next export in the
same base directory deletes it (only those of processes that are gone, so
concurrent exports do not delete each other's work).
"""

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile

STAGING_PREFIX = ".tmp-"
_CONTENT = "model"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def versions(base):
    """The version numbers under `base`, ascending (hidden staging ignored)."""
    if not os.path.isdir(base):
        return []
    return sorted(
        int(name) for name in os.listdir(base) if name.isdigit() and os.path.isdir(os.path.join(base, name))
    )


class VersionExistsError(FileExistsError):
    """The version an export asked for exists, and is neither replaced nor renumbered.

    Attributes:
        path: the existing version's directory.
        version: its number.
    """

    def __init__(self, base, version):
        super().__init__(f"Version {version} exists in {base!r}; pass overwrite=True to replace it.")
        self.path = os.path.join(base, str(version))
        self.version = version


def choose_version(base, preferred, overwrite=False, renumber=True):
    """The version number an export of `preferred` (e.g. the train step) gets.

    `preferred` when it is free or `overwrite` is set. When it exists: one
    above the highest existing version with `renumber` (so the new export is
    the one served), else `VersionExistsError` (exporting the same step
    twice writes nothing).

    Raises:
        VersionExistsError: `preferred` exists, and neither `overwrite` nor
            `renumber` is set.
    """
    existing = versions(base)
    if overwrite or preferred not in existing:
        return preferred
    if not renumber:
        raise VersionExistsError(base, preferred)
    return existing[-1] + 1


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale_staging(base):
    """Deletes staging directories under `base` left by exports that died.

    Returns:
        The deleted names.
    """
    removed = []
    for name in os.listdir(base) if os.path.isdir(base) else []:
        if not name.startswith(STAGING_PREFIX):
            continue
        parts = name[len(STAGING_PREFIX) :].split("-")
        # Names without a pid come from older releases: nobody owns them.
        owner = int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None
        if owner is not None and owner != os.getpid() and _process_alive(owner):
            continue
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)
        removed.append(name)
    return removed


def _exchange(source, destination):
    """Swaps two directories atomically (Linux renameat2 RENAME_EXCHANGE)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError as error:
        raise OSError(
            errno.ENOSYS, "Overwriting an export needs an atomic directory exchange (Linux renameat2)"
        ) from error
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), _RENAME_EXCHANGE):
        code = ctypes.get_errno()
        raise OSError(code, f"Atomic exchange of {source!r} and {destination!r} failed: {os.strerror(code)}")


def publish(content, base, version, overwrite=False):
    """Moves the complete directory `content` to ``base/version`` atomically.

    Args:
        content: a directory on the same file system as `base`.
        base: the model's base directory.
        version: the version number.
        overwrite: replace an existing version (atomic exchange); otherwise an
            existing version is an error.

    Returns:
        The published path.

    Raises:
        VersionExistsError: the version exists and `overwrite` is not set.
    """
    destination = os.path.join(base, str(version))
    if not os.path.exists(destination):
        os.rename(content, destination)
    elif overwrite:
        _exchange(content, destination)
        # `content` now holds the old version; its staging parent goes next.
    else:
        raise VersionExistsError(base, version)
    return destination


@contextlib.contextmanager
def staged_version(base, version, overwrite=False):
    """Yields an empty directory to write a version into; publishes it on success.

    Stale staging directories in `base` are deleted first. If the body raises,
    nothing is published and the staging directory is deleted. The published
    path is in the yielded object's ``path`` after the block.

    Example:
        with staged_version("export/attngan", 3000) as stage:
            write_model(stage.content)
        print(stage.path)  # export/attngan/3000
    """
    os.makedirs(base, exist_ok=True)
    clean_stale_staging(base)
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version}-{os.getpid()}-", dir=base)
    stage = _Stage(os.path.join(staging, _CONTENT))
    try:
        yield stage
        stage.path = publish(stage.content, base, version, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _Stage:
    """Where a staged version is written (`content`) and where it went (`path`)."""

    def __init__(self, content):
        self.content = content
        self.path = None
