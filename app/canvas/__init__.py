"""The node canvas: GraphScene mirrors a graphcore.Graph, GraphView shows and edits it."""
from .look import DARK, LIGHT, Palette, palette, set_palette, set_theme
from .nodes import NodeItem
from .ports import PortItem
from .wires import EdgeItem
from .scene import GraphScene
from .view import OP_MIME, GraphView

__all__ = ["DARK", "LIGHT", "EdgeItem", "GraphScene", "GraphView", "NodeItem", "OP_MIME", "Palette", "PortItem",
           "palette", "set_palette", "set_theme"]
