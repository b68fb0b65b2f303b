"""The cart's ONNX models (detector, recognizer): artifacts, manifest, training and evaluation."""
