"""The training driver: config + workdir -> trained, checkpointed, exported model.

`train` is what `attngan train` runs; it validates the config before any
work, refuses a workdir holding an incompatible run, resumes from the latest
checkpoint, trains exactly `train.steps` steps with the callbacks that write
summaries, pictures and checkpoints, and exports the serving SavedModel.
"""

import os

from keras_attngan import callbacks, deploy, serving
from keras_attngan.config import validate_config
from keras_attngan.experiment import (
    Workdir,
    build_data,
    check_workdir_compatible,
    load_config,
    restore_trainer,
    write_config,
)


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
    result = [
        callbacks.ScalarSummaries(workdir.logs, log.scalars_every),
        callbacks.AttentionImages(
            workdir.logs,
            workdir.samples,
            workdir.masks,
            every=log.images_every,
            num_images=log.num_images,
            seed=config.seed,
        ),
        callbacks.CheckpointSaver(manager, log.checkpoint_every),
    ]
    if config.model.mask_source != "none":
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
                lambda model: serving.export(model, workdir.export, config, workdir.masks)
            )
        )
    return result


def fit(model, dataset, config, start_step, callback_list):
    """Trains from `start_step` to `config.train.steps` in epochs of `steps_per_epoch`.

    A run resumed in the middle of an epoch first finishes that epoch, so the
    total number of steps is exactly `train.steps`; the export waits for the
    last segment.
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
            dataset,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=[c for c in callback_list if last or not isinstance(c, callbacks.ExportOnEnd)],
            shuffle=False,  # the pipeline shuffles; Keras would only warn
            verbose="auto",
        )


def train(config, workdir_path):
    """Trains `config` in `workdir_path`; returns the `Workdir` and the export path."""
    validate_config(config)
    workdir = Workdir(workdir_path)
    check_workdir_compatible(config, workdir)
    dataset, source = build_data(config)
    if config.data.channels is not None and config.data.channels != source.channels:
        raise ValueError(
            f"`data.channels` should match the data, which has {source.channels}. "
            f"Received: data.channels={config.data.channels}"
        )
    config.data.channels = source.channels
    model, manager, step = restore_trainer(config, workdir)
    write_config(config, workdir)
    print(
        f"Training {config.model.mask_source!r} mask GAN on {config.data.source!r} "
        f"({source.num_examples} images): step {step} of {config.train.steps}, "
        f"XLA (jit_compile) {'on' if model.jit_compile else 'off'}."
    )
    if step >= config.train.steps:
        print(f"{workdir.root} is already trained to step {step}; nothing to do.")
    else:
        callback_list = make_callbacks(config, workdir, manager, source)
        fit(model, dataset, config, step, callback_list)
        exports = [c.path for c in callback_list if isinstance(c, callbacks.ExportOnEnd)]
        if exports:
            return workdir, exports[0]
    has_export = os.path.isdir(workdir.export) and any(
        name.isdigit() for name in os.listdir(workdir.export)
    )
    return workdir, serving.resolve_export(workdir.export) if has_export else None


def describe(workdir, export_path):
    """What a user wants to know when training ends: where everything is."""
    pictures = {
        "samples.png": "sample grid",
        "overlays.png": "D's attention over the samples",
        "inner_loop.png": "inner loop: x0, s1, x1, ... per row",
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
    `keras_attngan.deploy.export`.
    """
    workdir = Workdir(workdir_path)
    config = load_config(workdir)
    try:
        model, manager, _ = restore_trainer(config, workdir)
    except (IndexError, OSError) as error:
        # A truncated checkpoint fails inside TF's reader with a message that
        # names neither the file nor the problem.
        checkpoint = os.path.join(workdir.checkpoints, "checkpoint")
        raise ValueError(
            f"Checkpoint in {workdir.checkpoints!r} is unreadable (truncated or corrupt: {error}); "
            f"restore the files or point {checkpoint!r} at an older checkpoint."
        ) from error
    if not manager.latest_checkpoint:
        raise FileNotFoundError(
            f"No checkpoint in {workdir.checkpoints!r}: train first with `attngan train`."
        )
    return deploy.export(model, out or workdir.export, config=config, mask_dir=workdir.masks, **options)
