"""Exports: serving signatures, versioned SavedModels, TFLite and ONNX artifacts, the runtimes that verify them."""
