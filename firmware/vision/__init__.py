"""The cart's vision models: ONNX Runtime wrappers for the detector and the recognizer.

Only numpy, OpenCV and onnxruntime are needed here (never torch): the cart runs the exported
models listed in ``models/manifest.json``, verified by ``models.manifest.load`` before loading.
"""
