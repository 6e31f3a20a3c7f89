"""A float32 executor's view of a float64 document: copies of the layer arrays, never a cast in place.

Mixed into Executor; the keys (node version, graph config_version) are described in executor.py."""
from __future__ import annotations

import numpy as np

from .stepctx import _Step


class Float32Casts:
    # ---------------------------------------------------------------- casts
    def _refresh_casts(self) -> None:
        """float32: the layer arrays each step reads, in float32. A float64 document array is copied
        into a buffer of this executor (never cast in place: the document does not change), again
        whenever the node gets a new version, into the same buffer (a Replay reading it stays valid)."""
        if self.graph.config_version != self._cast_config:
            self._casts = [st for st in self._plan if not st.source and st.spec.weights and self._cast(st)]
            self._cast_config = self.graph.config_version
            return
        for st in self._casts:
            if st.cast_version != st.node.version:
                self._cast(st)

    def _cast(self, st: _Step) -> bool:
        """(Re)build the step's view of its node's arrays; True when it holds a cast copy."""
        doc = st.node.tensors
        f32 = self.dtype
        own = st.tensors if st.tensors is not doc else None
        names = [w.name for w in st.spec.weights if w.shape is not None and w.name in doc
                 and doc[w.name].dtype.kind == "f" and doc[w.name].dtype != f32]
        if not names and own is None:
            return False
        if own is None:
            own = st.tensors = {}
        for name in list(own):
            if name not in doc:
                del own[name]
        for name, a in doc.items():
            if name in names:
                buf = own.get(name)
                if buf is None or buf is a or buf.shape != a.shape or buf.dtype != f32:
                    buf = np.empty(a.shape, f32)
                np.copyto(buf, a, casting="unsafe")
                own[name] = buf
            else:
                own[name] = a
        st.cast_version = st.node.version
        return True

    def _write_back_state(self, st: _Step) -> None:
        """Train mode wrote new running statistics into the step's cast copies: into the document."""
        doc = st.node.tensors
        for w in st.spec.weights:
            a, mine = doc.get(w.name), st.tensors.get(w.name)
            if not w.trainable and a is not None and mine is not None and mine is not a and a.shape == mine.shape:
                np.copyto(a, mine, casting="unsafe")
