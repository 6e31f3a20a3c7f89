"""How a graph leaves the app (and ONNX models come in): ONNX, and code.

Each op declares its own export rules on its OpSpec (`onnx`, `code`); the modules here walk
a graph and apply them. Optional packages (onnx) are imported only when an export runs."""
