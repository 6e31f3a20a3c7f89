"""The recorded pass lives in graphcore (graphcore.passrecord), shared with the headless lesson player."""
from graphcore.passrecord import Event, PassRecord, record

__all__ = ["Event", "PassRecord", "record"]
