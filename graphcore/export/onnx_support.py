"""What ONNX export and import share: the optional package, the opset, the exporter's tag."""
from __future__ import annotations

OPSET = 17  # the default domain's opset every export declares
IMPORT_OPSETS = range(13, 22)  # default-domain opsets the importer reads (Softmax and Reduce* semantics)
IR_VERSION = 8  # the IR that opset 17 came with: every runtime that knows opset 17 reads it
# model metadata key: the graph nodes exported as several ONNX nodes (JSON), so import gives them back
COMPOSITES_KEY = "backprop_studio.composites"
PRODUCER = "backprop-studio"
# op types onnxruntime's CPU provider runs in float32 only (measured with onnxruntime 1.32: a float64
# session fails NOT_IMPLEMENTED); a float64 export using them is valid ONNX all the same
ORT_NO_FLOAT64 = frozenset({"Conv", "AveragePool"})
INSTALL_HINT = "pip install 'backprop-studio[onnx]'"


class OnnxUnavailable(ImportError):
    """The optional onnx package is missing."""


def require_onnx(what: str = "ONNX export"):
    """The onnx module, or OnnxUnavailable saying how to install it (the app runs without it)."""
    try:
        import onnx
    except ImportError:
        raise OnnxUnavailable(f"{what} needs the onnx package: {INSTALL_HINT}") from None
    return onnx
