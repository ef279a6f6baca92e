"""Where evaluation keeps what it computes once: domain classifiers, reference statistics.

The directory is, in order of precedence, the `cache_dir` argument, the
``KERAS_ATTNGAN_CACHE`` environment variable, or ``~/.cache/keras_attngan``.
Entries are keyed by a hash of everything that determines their content, and
written to a temporary name and renamed, so a crash never leaves half a file
that a later run would trust.
"""

import hashlib
import json
import os
import re

ENV_VAR = "KERAS_ATTNGAN_CACHE"


def cache_root(cache_dir=None):
    """The cache directory: `cache_dir`, ``$KERAS_ATTNGAN_CACHE`` or ``~/.cache/keras_attngan``."""
    if cache_dir:
        return os.path.expanduser(cache_dir)
    return os.environ.get(ENV_VAR) or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_attngan"
    )


def entry_name(key):
    """A readable, collision-safe file name for a key dict: ``SLUG-HASH``."""
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", "_".join(str(v) for v in key.values()))[:80]
    return f"{slug.strip('-')}-{digest}"
