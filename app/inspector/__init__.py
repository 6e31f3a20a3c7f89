"""The inspector dock (dock.py) with its pure parsing (parse.py), field widgets (fields.py) and
undo commands (commits.py)."""
from .dock import InspectorDock

__all__ = ["InspectorDock"]
