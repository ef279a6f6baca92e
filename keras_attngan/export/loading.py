"""Opening an export: its version, its files checked whole, its metadata and latent spec."""

import glob
import json
import os

import tensorflow as tf

from keras_attngan.core.latent import LatentSpec
from keras_attngan.export import versioning
from keras_attngan.export.serving import METADATA_FILE, SAVED_MODEL_FILE


def resolve_export(path, check=True):
    """Returns the SavedModel directory for `path`, checked whole.

    `path` is a SavedModel, or a TF Serving base path whose highest numeric
    version is taken. A version whose files are damaged is reported, not
    skipped for an older one: versions are published whole, so a damaged
    one was damaged afterwards (a disk, a copy cut short) and would fail in
    TF Serving too.

    Args:
        path: a version or a base path.
        check: check the version's files first (`check_export`).

    Raises:
        FileNotFoundError: when there is no SavedModel there.
        keras_attngan.core.errors.DamagedFileError: a file of the version is
            damaged or missing; the message names it.
    """
    if os.path.exists(os.path.join(path, SAVED_MODEL_FILE)):
        version = path
    elif versioning.versions(path):
        version = os.path.join(path, str(versioning.versions(path)[-1]))
    elif any(os.path.exists(os.path.join(path, name)) for name in ("variables", "assets", "fingerprint.pb")):
        version = path  # a version that lost its graph
    else:
        raise FileNotFoundError(
            f"No SavedModel at {path!r}: expected saved_model.pb there or in a numbered "
            "version sub-directory (written by `attngan export` or at the end of `attngan train`)."
        )
    if check:
        check_export(version)
    return version


def damaged_file(path, problem, version):
    """The `DamagedFileError` of a file of export `version`: what is wrong, and what to do."""
    from keras_attngan.core.errors import DamagedFileError

    advice = "export the run again (`attngan export --workdir RUN --overwrite`)"
    base = os.path.dirname(os.path.abspath(version))
    if os.path.basename(os.path.abspath(version)).isdigit() and len(versioning.versions(base)) > 1:
        advice += f" or remove {version} to serve the previous version"
    return DamagedFileError(path, problem, advice)


def file_problem(path, error=None, otherwise=None):
    """What is wrong with the file at `path`, in a few words.

    Missing, empty and zero-filled are told by the file itself; otherwise
    what the reader's `error` says, or `otherwise` when it says nothing known.
    """
    if not os.path.exists(path):
        return "missing"
    if os.path.getsize(path) == 0:
        return "empty"
    with open(path, "rb") as f:
        if not f.read(1 << 20).strip(b"\0") and not f.read().strip(b"\0"):
            return "zero-filled"
    text = " ".join(str(error).split())
    for known, problem in (
        ("Read less bytes", "truncated"),
        ("truncated", "truncated"),
        ("checksum does not match", "checksum mismatch: its bytes changed"),
        ("not an sstable", "not a checkpoint index"),
        ("corrupt", "corrupt"),
    ):
        if known.lower() in text.lower():
            return problem
    return otherwise or text[:200]


def check_export(version):
    """Raises `DamagedFileError` naming the first damaged or missing file of a SavedModel version.

    Reads what loading reads, and checks it as loading would not: the graph
    (``saved_model.pb``) parses and holds a graph; the fingerprint parses
    where present; the metadata (``assets/attngan.json``, which every reader
    needs) parses; the variables' index reads and every
    variable reads back with its checksum (a zero-filled or overwritten
    ``variables.data-*`` fails here, where TF's error would name neither the
    file nor the problem).

    Args:
        version: a SavedModel directory.

    Raises:
        keras_attngan.core.errors.DamagedFileError: the message names the file,
            the problem and what to do.
    """
    from tensorflow.core.protobuf import fingerprint_pb2, saved_model_pb2

    graph = _parsed(os.path.join(version, SAVED_MODEL_FILE), saved_model_pb2.SavedModel(), version)
    if not graph.meta_graphs:
        file = os.path.join(version, SAVED_MODEL_FILE)
        raise damaged_file(file, file_problem(file, otherwise="holds no graph"), version)
    fingerprint = os.path.join(version, "fingerprint.pb")
    if os.path.exists(fingerprint):  # written by TF 2.12 and later
        _parsed(fingerprint, fingerprint_pb2.FingerprintDef(), version)
    load_metadata(version)
    prefix = os.path.join(version, "variables", "variables")
    index = f"{prefix}.index"
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError, OSError) as error:
        raise damaged_file(index, file_problem(index, error), version) from None
    data = sorted(glob.glob(f"{glob.escape(prefix)}.data-*-of-*"))
    shards = int(data[0].rsplit("-of-", 1)[1]) if data else 1
    expected = [f"{prefix}.data-{shard:05d}-of-{shards:05d}" for shard in range(shards)]
    missing = [file for file in expected if file not in data]
    if missing:
        raise damaged_file(missing[0], "missing", version)
    for name in reader.get_variable_to_dtype_map():
        try:
            reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError, RuntimeError, OSError) as error:
            file = data[0] if len(data) == 1 else f"{prefix}.data-*"
            raise damaged_file(file, file_problem(data[0], error), version) from None


def _parsed(file, message, version):
    """`message` parsed from `file`, which belongs to export `version`."""
    from google.protobuf.message import DecodeError

    try:
        with open(file, "rb") as f:
            message.ParseFromString(f.read())
    except (OSError, ValueError, DecodeError) as error:
        what = f"does not parse as a {message.DESCRIPTOR.name} protocol buffer"
        raise damaged_file(file, file_problem(file, error, what), version) from None
    return message


def load_metadata(saved_model_dir):
    """Reads the metadata stored with an export.

    Raises:
        keras_attngan.core.errors.DamagedFileError: the metadata file is missing
            or is not the JSON object `save` writes.
    """
    path = os.path.join(saved_model_dir, "assets", METADATA_FILE)
    try:
        with open(path, "rb") as f:
            metadata = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise damaged_file(path, file_problem(path, error, "not valid JSON"), saved_model_dir) from None
    if not isinstance(metadata, dict) or "image_size" not in metadata:
        raise damaged_file(path, "not the metadata of an export", saved_model_dir)
    return metadata


def export_latent(saved_model_dir):
    """The `keras_attngan.LatentSpec` of an export, from its metadata.

    Exports written before the spec joined the metadata had normal z only;
    their spec is rebuilt from ``latent_dim``.
    """
    metadata = load_metadata(saved_model_dir)
    if metadata.get("latent"):
        return LatentSpec.from_config(metadata["latent"])
    return LatentSpec(int(metadata["latent_dim"]))
