"""A served model's signatures, read from the model itself, for building requests.

The clients never hard-code input names, dtypes or shapes: they read the
SignatureDefs from the model, either from TF Serving's metadata API (REST
``GET /v1/models/NAME/metadata``, gRPC ``GetModelMetadata``) or from the
SavedModel's ``saved_model.pb`` (what ``saved_model_cli show`` prints), and
check every request against them before sending it. A model that changes its
signatures changes its clients' requests with it.

All sources are turned into the JSON form of a ``SignatureDefMap`` (what the
REST metadata API returns), so the parsing is one function.
"""

import numpy as np

_DTYPES = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_BOOL": np.bool_,
}


class Signature:
    """One signature: its inputs' and outputs' dtypes and shapes (None: any size).

    Args:
        name: the signature key, e.g. ``serving_default``.
        definition: the JSON form of a ``SignatureDef`` (``inputs``,
            ``outputs``: name -> ``{"dtype", "tensor_shape": {"dim": [...]}}``).
    """

    def __init__(self, name, definition):
        self.name = name
        self.inputs = {key: _tensor_info(value) for key, value in definition["inputs"].items()}
        self.outputs = {key: _tensor_info(value) for key, value in definition["outputs"].items()}

    def check(self, inputs):
        """Returns `inputs` as arrays of the signature's dtypes, or raises naming the problem.

        Raises:
            ValueError: missing or unexpected names, or a shape the signature refuses.
            TypeError: a value that does not convert to the input's dtype without loss.
        """
        if set(inputs) != set(self.inputs):
            raise ValueError(
                f"Signature {self.name!r} takes inputs {sorted(self.inputs)}; received {sorted(inputs)}."
            )
        arrays = {}
        for key, (dtype, shape) in self.inputs.items():
            value = np.asarray(inputs[key])
            if not np.can_cast(value.dtype, dtype, casting="same_kind"):
                raise TypeError(f"Input {key!r} should be {np.dtype(dtype).name}, not {value.dtype}.")
            if value.ndim != len(shape) or any(d is not None and d != v for d, v in zip(shape, value.shape)):
                raise ValueError(f"Input {key!r} has shape {value.shape}; {self.name!r} expects {shape}.")
            arrays[key] = value.astype(dtype)
        return arrays


def _tensor_info(info):
    dims = info.get("tensor_shape", {}).get("dim", [])
    shape = tuple(None if int(dim["size"]) < 0 else int(dim["size"]) for dim in dims)
    return _DTYPES[info["dtype"]], shape


def parse(signature_def_map):
    """``{name: Signature}`` from the JSON form of a ``SignatureDefMap``.

    ``__saved_model_init_op`` (the SavedModel's own initializer, not callable
    by clients) is left out.
    """
    return {
        name: Signature(name, definition)
        for name, definition in signature_def_map["signature_def"].items()
        if not name.startswith("__")
    }


def from_proto(signature_def_map_or_meta_graph):
    """``{name: Signature}`` from a ``SignatureDefMap`` or ``MetaGraphDef`` proto."""
    from google.protobuf import json_format

    definitions = signature_def_map_or_meta_graph.signature_def
    return parse(
        {
            "signature_def": {
                name: json_format.MessageToDict(definition, preserving_proto_field_name=True)
                for name, definition in definitions.items()
            }
        }
    )


def from_saved_model(path, tag="serve"):
    """``{name: Signature}`` of the SavedModel at `path` (``saved_model_cli show``'s source)."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(f"{path}/saved_model.pb", "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if tag in meta_graph.meta_info_def.tags:
            return from_proto(meta_graph)
    raise ValueError(f"No meta graph tagged {tag!r} in {path!r}.")
