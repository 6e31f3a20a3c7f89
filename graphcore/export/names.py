"""Node names as safe Python identifiers for generated code.

A name comes from someone's file, so it never becomes code as it is: it is cut down to ASCII
letters, digits and underscores, kept away from keywords, builtins and the names the generated
file uses itself, and made unique. The original name only appears inside repr'd strings.
"""
from __future__ import annotations

import builtins
import keyword
import re

MAX_LEN = 40

# names every generated file defines or imports
RESERVED = frozenset({"np", "torch", "nn", "F", "math", "Path", "values", "grads", "weights", "names",
                      "model", "build_model", "optimizer", "train", "main", "self", "data", "batch",
                      "Model", "WEIGHTS", "NAMES", "INPUTS", "SINK", "re", "fmt", "fmt_number", "printable",
                      "print_table", "FIXED_MIN", "FIXED_MAX", "TITLE", "OPS", "NODES", "TARGET", "weight_grads",
                      "functional", "DEVICE", "SETTINGS", "make_data", "make_optimizer", "loss_of", "FEATURES",
                      "LABELS", "load_data", "learning_rate", "NotesOptimizer", "TITLE",
                      # torch.nn.Module's own attributes: a node's weights become attributes of the model
                      "training", "forward", "eval", "to", "cuda", "cpu", "xpu", "ipu", "mtia", "parameters",
                      "buffers", "children", "modules", "state_dict", "load_state_dict", "apply", "half",
                      "double", "bfloat16", "register_buffer", "register_parameter", "register_module",
                      "add_module", "zero_grad", "named_parameters", "named_buffers", "named_children",
                      "named_modules", "extra_repr", "requires_grad_", "share_memory", "get_parameter",
                      "get_buffer", "get_submodule", "compile", "dump_patches", "call_super_init",
                      "get_extra_state", "set_extra_state", "register_forward_hook", "register_backward_hook",
                      "register_full_backward_hook", "register_forward_pre_hook", "to_empty", "float"})


def identifier(name: str, fallback: str = "node") -> str:
    """A plain identifier from any text: 'fc 1/W' -> 'fc_1_W', '2x' -> 'n_2x', 'for' -> 'for_'."""
    text = re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_")
    text = re.sub(r"_+", "_", text)[:MAX_LEN].rstrip("_") or fallback
    if text[0].isdigit():
        text = "n_" + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or hasattr(builtins, text) or text in RESERVED:
        text += "_"
    return text


class Namer:
    """Hands out unique identifiers; `take` marks names the file uses for itself."""

    def __init__(self, taken=()) -> None:
        self.used: set[str] = set(taken)

    def take(self, *names: str) -> None:
        self.used.update(names)

    def new(self, name: str, fallback: str = "node") -> str:
        base = identifier(name, fallback)
        out, k = base, 1
        while out in self.used:
            k += 1
            out = f"{base}_{k}"
        self.used.add(out)
        return out
