"""The node canvas: GraphScene mirrors a graphcore.Graph, GraphView shows and edits it."""
from .items import DARK, LIGHT, EdgeItem, NodeItem, Palette, PortItem, palette, set_palette, set_theme
from .scene import GraphScene
from .view import OP_MIME, GraphView

__all__ = ["DARK", "LIGHT", "EdgeItem", "GraphScene", "GraphView", "NodeItem", "OP_MIME", "Palette", "PortItem",
           "palette", "set_palette", "set_theme"]
