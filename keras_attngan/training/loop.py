"""The training driver: config + workdir -> trained, checkpointed, exported model.

`train` is what `attngan train` runs; it validates the config before any
work, refuses a workdir holding a run with another config (unless told to
apply the change), resumes from the latest checkpoint at the same data
position and random stream, trains exactly `train.steps` steps with the
callbacks that write summaries, pictures and checkpoints, stops (or rolls
back) at the first non-finite loss or weight, and exports the serving
SavedModel.
"""

import os

from keras_attngan.core.latent import LatentSpec
from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.export import deploy, loading, serving
from keras_attngan.training import callbacks, distribute, finite, semi_supervised
from keras_attngan.training.build import (
    build_data,
    check_labels,
    set_determinism,
    training_batches,
)
from keras_attngan.training.experiment import (
    check_workdir_compatible,
    load_config,
    open_workdir,
    record_config_change,
    restore_trainer,
    write_config,
)
from keras_attngan.training.validation import validate_config


def evaluation_callback(config, workdir, source):
    """`callbacks.Evaluation` on the first `log.eval_num` images of the training data."""
    from keras_attngan.metrics import get_domain_classifier

    real = next(source.dataset.batch(config.log.eval_num).as_numpy_iterator())
    return callbacks.Evaluation(
        workdir.logs,
        real["images"],
        get_domain_classifier(config.data.source, config.data.image_size, split=config.data.split),
        metrics=config.log.eval_metrics,
        every=config.log.eval_every,
        num=config.log.eval_num,
        seed=config.seed,
        real_labels=real["labels"],
    )


def make_callbacks(config, workdir, manager, source):
    """The training callbacks a config asks for (`source`: the training `SourceData`)."""
    log = config.log
    if config.data.scale:
        # Super-resolution: the first patches, held fixed.
        targets = next(source.dataset.batch(log.num_images).as_numpy_iterator())["images"]
        pictures = callbacks.SuperResolutionImages(
            workdir.logs,
            workdir.samples,
            targets.astype("float32") / 127.5 - 1.0,
            config.data.scale,
            every=log.images_every,
        )
    else:
        pictures = callbacks.AttentionImages(
            workdir.logs,
            workdir.samples,
            workdir.masks,
            every=log.images_every,
            num_images=log.num_images,
            seed=config.seed,
        )
    result = [
        # First: it must stop training before anything below saves the state.
        callbacks.NonFiniteGuard(),
        callbacks.ScalarSummaries(workdir.logs, log.scalars_every),
        pictures,
        callbacks.CheckpointSaver(manager, log.checkpoint_every),
    ]
    codes = LatentSpec.from_model_config(config.model).code_dim
    if codes:
        result.insert(
            2,
            callbacks.CodeGrids(
                workdir.logs,
                workdir.samples,
                every=log.images_every,
                value_range=log.traversal_range,
                steps=log.traversal_steps,
                seed=config.seed,
            ),
        )
    if MASK_SOURCES[config.model.mask_source].uses_mask:
        result.insert(
            2,
            callbacks.MaskUsage(
                workdir.logs, log.images_every, cell_size=config.model.mi_cell_size, seed=config.seed
            ),
        )
    if log.eval_every:
        result.append(evaluation_callback(config, workdir, source))
    if log.export_on_end:
        result.append(
            callbacks.ExportOnEnd(
                lambda model: serving.save_version(model, workdir.export, config, workdir.masks)
            )
        )
    return result


def fit(model, batches_from, config, start_step, callback_list):
    """Trains from `start_step` to `config.train.steps` in epochs of `steps_per_epoch`.

    A run resumed in the middle of an epoch first finishes that epoch, so the
    total number of steps is exactly `train.steps`; the export waits for the
    last segment.

    Args:
        model: the trainer, at `start_step`.
        batches_from: step -> the training dataset from that step on (each
            `model.fit` call starts a new iterator, so each segment asks for
            its own position).
        config: the run's config.
        start_step: the step `model` is at.
        callback_list: the callbacks of `make_callbacks`.
    """
    per_epoch, total = config.train.steps_per_epoch, config.train.steps
    segments = []  # (epochs, initial_epoch, steps_per_epoch) of each `fit` call
    if start_step % per_epoch:
        epoch = start_step // per_epoch
        segments.append((epoch + 1, epoch, per_epoch - start_step % per_epoch))
        start_step = (epoch + 1) * per_epoch
    if start_step < total:
        segments.append((total // per_epoch, start_step // per_epoch, per_epoch))
    for index, (epochs, initial_epoch, steps_per_epoch) in enumerate(segments):
        last = index == len(segments) - 1
        model.fit(
            batches_from(initial_epoch * per_epoch + (per_epoch - steps_per_epoch)),
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=[c for c in callback_list if last or not isinstance(c, callbacks.ExportOnEnd)],
            shuffle=False,  # the pipeline shuffles; Keras would only warn
            verbose="auto",
        )


def _source(config, workdir):
    """The run's data source; sets ``data.channels`` from it and, for S3GAN, pseudo-labels it."""
    _, source = build_data(config)
    if config.data.channels is not None and config.data.channels != source.channels:
        raise ValueError(
            f"`data.channels` should match the data, which has {source.channels}. "
            f"Received: data.channels={config.data.channels}"
        )
    config.data.channels = source.channels
    check_labels(config, source)
    if config.data.label_fraction < 1:
        source, labels = semi_supervised.cached_pseudo_labels(
            source, config.data.label_fraction, config.seed, workdir.pseudo_labels
        )
        print(
            f"S3GAN pseudo-labels from {config.data.label_fraction:.0%} of the labels: "
            f"{labels.accuracy:.1%} right on the rest (rotation pre-training "
            f"{labels.rotation_accuracy:.1%}); {workdir.pseudo_labels}."
        )
    return source


def _announce(config, source, model, step, strategy):
    print(
        f"Training {config.model.mask_source!r} mask GAN on {config.data.source!r} "
        f"({source.num_examples} images): step {step} of {config.train.steps}, "
        f"computing in {model.generator.dtype_policy.name}, "
        f"XLA (jit_compile) {'on' if model.jit_compile else 'off'}, "
        f"op determinism {'on' if config.train.deterministic else 'off'}, "
        f"strategy {config.train.strategy!r} ({strategy.num_replicas_in_sync} replicas, "
        f"{model.steps_per_execution} steps per call)."
    )


def train(config, workdir_path, allow_config_change=False):
    """Trains `config` in `workdir_path`; returns the `Workdir` and the export path.

    Args:
        config: the run's config (validated here).
        workdir_path: the run directory; a run already there is resumed.
        allow_config_change: apply changed run-defining keys (learning
            rates, loss, data, seed...) to a run in `workdir_path` from its
            current step, recording them in ``config_changes.jsonl``;
            without it such a change is refused with the list of keys.

    Raises:
        ValueError: an invalid config, or one the workdir's run refuses.
        keras_attngan.training.finite.NonFiniteError: a loss or weight became NaN or
            Inf (after `train.max_rollbacks` rollbacks, with
            ``train.on_non_finite="rollback"``); nothing was saved from that
            state.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    validate_config(config)
    # Before any other TF work: a multi-worker strategy configures the runtime.
    strategy = distribute.get_strategy(config.train.strategy)
    if not distribute.is_chief(config.train.strategy):
        task_type, index = distribute.worker_task()
        workdir_path = os.path.join(workdir_path, "workers", f"{task_type}-{index}")
    workdir = open_workdir(workdir_path)
    changes = check_workdir_compatible(config, workdir, allow_config_change)
    set_determinism(config)
    source = _source(config, workdir)
    model, manager, step = restore_trainer(config, workdir)
    if step >= config.train.steps:
        past = f", past train.steps={config.train.steps}" if step > config.train.steps else ""
        print(f"{workdir.root} is already trained to step {step}{past}; nothing to do.")
        return workdir, _latest_export(workdir)
    if changes:
        record_config_change(workdir, step, changes, "--allow_config_change")
        print(f"Applied from step {step}: {_describe(changes)}")
    write_config(config, workdir)
    _announce(config, source, model, step, strategy)
    rollbacks = 0
    while True:
        callback_list = make_callbacks(config, workdir, manager, source)
        try:
            fit(model, lambda s: training_batches(config, source, s), config, step, callback_list)
            break
        except finite.NonFiniteError as error:
            latest = manager.latest_checkpoint
            kept = (
                f"the latest checkpoint is still {latest}"
                if latest
                else "no checkpoint was written yet"
            )
            if config.train.on_non_finite != "rollback" or rollbacks == config.train.max_rollbacks:
                raise finite.NonFiniteError(
                    f"{error} Nothing was saved from this state: {kept}. Lower "
                    "train.g_learning_rate and train.d_learning_rate, or set "
                    "train.on_non_finite=rollback.",
                    step=error.step,
                    values=error.values,
                ) from error
            rollbacks += 1
            model, manager, step = _roll_back(config, workdir, error, rollbacks)
    exports = [c.path for c in callback_list if isinstance(c, callbacks.ExportOnEnd)]
    return workdir, exports[0] if exports else _latest_export(workdir)


def _roll_back(config, workdir, error, rollbacks):
    """Lowers the learning rates and restores the last good checkpoint (or the seeded start)."""
    factor = config.train.rollback_lr_factor
    lowered = {
        f"train.{key}": (config.train[key], config.train[key] * factor)
        for key in ("g_learning_rate", "d_learning_rate")
    }
    for key, (_, new) in lowered.items():
        config.train[key.split(".")[1]] = new
    model, manager, step = restore_trainer(config, workdir)
    reason = f"rollback {rollbacks} of {config.train.max_rollbacks}: {error}"
    record_config_change(workdir, step, lowered, reason)
    write_config(config, workdir)
    print(f"{error} Rolled back to step {step}, learning rates x{factor}: {_describe(lowered)}")
    return model, manager, step


def _describe(changes):
    return "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items())


def _latest_export(workdir):
    has_export = os.path.isdir(workdir.export) and any(
        name.isdigit() for name in os.listdir(workdir.export)
    )
    return loading.resolve_export(workdir.export) if has_export else None


def describe(workdir, export_path):
    """What a user wants to know when training ends: where everything is."""
    pictures = {
        "samples.png": "sample grid",
        "overlays.png": "D's attention over the samples",
        "inner_loop.png": "inner loop: each refinement's mask and image, per row",
    }
    lines = [f"Run directory: {workdir.root}", f"  checkpoints:      {workdir.checkpoints}"]
    for name, what in pictures.items():
        path = os.path.join(workdir.samples, name)
        if os.path.exists(path):
            lines.append(f"  {path}  ({what})")
    if os.path.isdir(workdir.masks):
        lines.append(f"  logged masks:     {workdir.masks}")
    if export_path:
        lines.append(f"  SavedModel:       {export_path}")
    lines += [
        f"  TensorBoard logs: {workdir.logs}",
        f"Open them with:     tensorboard --logdir {workdir.logs}",
    ]
    return "\n".join(lines)


def export_workdir(workdir_path, out=None, **options):
    """Restores the latest checkpoint of a workdir and exports it; returns the path.

    `options` (formats, quantizations, version, overwrite) go to
    `keras_attngan.export.deploy.export`.
    """
    workdir = open_workdir(workdir_path)
    config = load_config(workdir)
    model, manager, _ = restore_trainer(config, workdir)
    if not manager.latest_checkpoint:
        raise FileNotFoundError(
            f"No checkpoint in {workdir.checkpoints!r}: train first with `attngan train`."
        )
    finite.check_variables(model.weights, f"Checkpoint {manager.latest_checkpoint!r}")
    return deploy.export(model, out or workdir.export, config=config, mask_dir=workdir.masks, **options)
