"""Command-line apps (absl): `attngan train | synthesize | export | evaluate`."""
