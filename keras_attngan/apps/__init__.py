"""What users run on trained models: synthesis, tiled upscaling, evaluation, studies."""
