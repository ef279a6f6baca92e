"""From a config to a finished run: config and validation, building, the workdir, the training loop, callbacks."""
