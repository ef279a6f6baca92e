"""The failures a command reports in one line, without a traceback.

Two kinds of expected failure, besides the refused inputs (`ValueError`
naming the config key, flag or path; `refuse` words it for a config key):

- `RunFailure`: the run started and could not finish (training diverged, a
  conversion could not be verified); the command exits with code 1.
- `DamagedFileError`: a file the command needs cannot be read (truncated,
  zero-filled, random bytes, missing); also exit code 1, and the message names
  the file.

Anything else raised is a bug and keeps its traceback. This module imports no
TensorFlow, so the command line can name these types before TensorFlow loads.
"""


class DamagedFileWarning(UserWarning):
    """A damaged file was moved aside into ``damaged/`` and the run goes on without it."""


class RunFailure(RuntimeError):
    """A run that started could not finish; the message says why and what to do."""


class DamagedFileError(RunFailure):
    """A file cannot be read as what it should be.

    Attributes:
        path: the damaged file.
    """

    def __init__(self, path, problem, advice):
        super().__init__(f"{path} is damaged ({problem}): {advice}")
        self.path = path


def refuse(key, value, expectation):
    """Raises the ValueError of a refused config value: its full key, what it should be, what it was.

    Args:
        key: the dotted config key (``"data.image_size"``) or option name.
        value: the value received.
        expectation: what the value should be, completing "`key` should be ...".
    """
    raise ValueError(f"`{key}` should be {expectation}. Received: {key}={value!r}")


def check_count(name, value, minimum, meaning):
    """Refuses an argument that is not an integer >= `minimum` (`meaning` says what it counts)."""
    if not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` ({meaning}) should be an integer >= {minimum}. Received: {name}={value!r}")
