"""A TF Serving gRPC client for an exported keras-attngan model.

    pip install tensorflow-serving-api
    python export/grpc_client.py --host localhost:8500 --model attngan --num 4 --seed 0

Reads the model's signatures with ``GetModelMetadata``, then calls `sample`
(seed, count) and `explain` with ``PredictRequest``s built from, and checked
against, the served signatures (`signatures.py`), and prints D's scores.
"""

import argparse

import numpy as np

import signatures as signatures_lib


def fetch_signatures(stub, model, timeout=60):
    """``{name: Signature}`` from ``GetModelMetadata``."""
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = model
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout)
    definitions = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(definitions)
    return signatures_lib.from_proto(definitions)


def build_request(model, signature, inputs):
    """A ``PredictRequest`` for `signature` (a `Signature`), inputs checked against it."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature.name
    for key, value in signature.check(inputs).items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    return request


def predict(stub, model, signature, inputs, timeout=60):
    """Calls `signature` with `inputs`; returns ``{output: array}``."""
    import tensorflow as tf

    response = stub.Predict(build_request(model, signature, inputs), timeout)
    return {key: tf.make_ndarray(value) for key, value in response.outputs.items()}


def connect(host):
    """A ``PredictionServiceStub`` on `host` (insecure channel, as TF Serving's default)."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(host))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost:8500")
    parser.add_argument("--model", default="attngan")
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    stub = connect(args.host)
    signatures = fetch_signatures(stub, args.model)
    sampled = predict(stub, args.model, signatures["sample"], {"seed": args.seed, "count": args.num})
    explained = predict(stub, args.model, signatures["explain"], {"images": sampled["images"]})
    for index, score in enumerate(np.ravel(explained["score"])):
        print(f"{index:03d}: image {sampled['images_uint8'][index].shape}, D's score {score:.3f}")


if __name__ == "__main__":
    main()
