"""Graphs leaving the app (ONNX, PyTorch code, the notes' staged numpy code) and ONNX models coming in.

Each op declares how it is written out on its OpSpec (`onnx`, `code`); the modules here walk a
graph and put those rules together. Optional packages (onnx) are imported only when an export
or import runs. Nothing here imports Qt.
"""
