"""The one lookup of every registry (losses, penalties, mask sources, ...).

Registries are plain dicts from a name to a part; `lookup` returns the part or
refuses the name with the valid ones, in one message shape everywhere.
"""


def lookup(registry, name, argument):
    """``registry[name]``, or ValueError naming `argument` and listing the valid names.

    Args:
        registry: a dict of name -> part, in the order the names are offered.
        name: the name asked for.
        argument: what the user set (``"loss"``, ``"train.strategy"``).

    Raises:
        ValueError: `name` is not a key of `registry`.
    """
    if name not in registry:
        raise ValueError(
            f"`{argument}` should be one of {list(registry)}. Received: {argument}={name!r}"
        )
    return registry[name]
