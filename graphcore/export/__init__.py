"""Graphs leaving the app: ONNX, PyTorch code and the notes' staged numpy code.

Each op declares how it is written out on its OpSpec (`onnx`, `code`); the modules here walk a
graph and put those rules together. Nothing here imports Qt.
"""
