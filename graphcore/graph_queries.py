"""Questions about a graph's structure: lookups, wires, topological order, shapes, problems.

A mixin of Graph (graphcore.graph): it reads `nodes` and `_in_edges` and changes nothing
(infer_shapes may try a wire that is not there yet, and puts the wires back).
"""
from __future__ import annotations

from .graph_parts import Edge, Node
from .problems import GraphError, Problem
from .registry import ShapeError


class GraphQueries:
    """Read-only questions about the wiring; Graph holds the state they read."""

    nodes: dict[str, Node]
    _in_edges: dict[tuple[str, str], Edge]

    @property
    def edges(self) -> list[Edge]:
        return list(self._in_edges.values())

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node with id {node_id!r}") from None

    def find(self, name: str) -> str:
        """The id of the node called `name` (ids work too)."""
        if name in self.nodes:
            return name
        hits = [n.id for n in self.nodes.values() if n.name == name]
        if not hits:
            raise GraphError(f"no node named {name!r}")
        if len(hits) > 1:
            raise GraphError(f"several nodes are named {name!r}: {', '.join(hits)}")
        return hits[0]

    def input_edge(self, node_id: str, port: str) -> Edge | None:
        return self._in_edges.get((node_id, port))

    def inputs_of(self, node_id: str) -> dict[str, str]:
        """port -> source node id for the node's connected inputs."""
        return {p: e.src for (n, p), e in self._in_edges.items() if n == node_id}

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self._in_edges.values() if e.src == node_id]

    def sinks(self) -> list[str]:
        used = {e.src for e in self._in_edges.values()}
        return [nid for nid in self.nodes if nid not in used]

    # ------------------------------------------------------------ topology
    def topo_order(self) -> list[str]:
        """Kahn's algorithm, stable in insertion order; raises GraphError on a cycle."""
        order, cycle = self._topo()
        if cycle:
            raise GraphError([self._cycle_problem(cycle)])
        return order

    def _topo(self) -> tuple[list[str], list[str]]:
        indeg = {nid: 0 for nid in self.nodes}
        children: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for (dst, _), e in self._in_edges.items():
            if e.src in indeg and dst in indeg:
                indeg[dst] += 1
                children[e.src].append(dst)
        ready = [nid for nid, d in indeg.items() if d == 0]
        order: list[str] = []
        i = 0
        position = {nid: k for k, nid in enumerate(self.nodes)}
        while i < len(ready):
            nid = ready[i]
            i += 1
            order.append(nid)
            newly = []
            for c in children[nid]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    newly.append(c)
            newly.sort(key=position.__getitem__)
            ready.extend(newly)
        if len(order) == len(self.nodes):
            return order, []
        left = [nid for nid in self.nodes if nid not in set(order)]
        return order, self._find_cycle(left)

    def _find_cycle(self, candidates: list[str]) -> list[str]:
        cand = set(candidates)
        parents = {nid: [e.src for (d, _), e in self._in_edges.items() if d == nid and e.src in cand] for nid in cand}
        # walk backwards until a node repeats: the repeated stretch is a cycle
        start = candidates[0]
        seen: dict[str, int] = {}
        path: list[str] = []
        cur = start
        while cur not in seen:
            seen[cur] = len(path)
            path.append(cur)
            nxt = parents[cur]
            if not nxt:
                break
            cur = nxt[0]
        cycle = path[seen.get(cur, 0):]
        cycle.reverse()
        return cycle

    def _cycle_problem(self, cycle: list[str]) -> Problem:
        names = " -> ".join(self.nodes[n].name for n in cycle + cycle[:1])
        return Problem(cycle[0], None, f"the graph has a cycle: {names}", "cycle")

    def _reaches(self, src: str, dst: str) -> bool:
        """True if a path of wires leads from src to dst."""
        stack, seen = [src], set()
        while stack:
            cur = stack.pop()
            if cur == dst:
                return True
            if cur in seen:
                continue
            seen.add(cur)
            stack.extend(e.dst for e in self._in_edges.values() if e.src == cur)
        return False

    # ------------------------------------------------------------ shapes
    def infer_shapes(self, extra_edge: Edge | None = None) -> tuple[dict[str, tuple], list[Problem]]:
        """Shapes of every node's output from the current values, and the problems found."""
        edges = dict(self._in_edges)
        if extra_edge is not None:
            edges[(extra_edge.dst, extra_edge.dst_port)] = extra_edge
        problems: list[Problem] = []
        saved = self._in_edges
        self._in_edges = edges
        try:
            order, cycle = self._topo()
            if cycle:
                problems.append(self._cycle_problem(cycle))
            shapes: dict[str, tuple] = {}
            for nid in order:
                node = self.nodes[nid]
                spec = node.spec
                if spec is None:
                    continue
                if spec.source:
                    if "value" in node.tensors:
                        shapes[nid] = node.tensors["value"].shape
                    continue
                in_shapes = []
                ok = True
                for port in spec.inputs:
                    e = edges.get((nid, port.name))
                    if e is None or e.src not in shapes:
                        if not port.optional:
                            ok = False
                        in_shapes.append(None)
                    else:
                        in_shapes.append(shapes[e.src])
                if not ok:
                    continue
                try:
                    shapes[nid] = tuple(spec.shape(node.params, in_shapes))
                except ShapeError as exc:
                    problems.append(Problem(nid, exc.port, str(exc), "shape"))
                except Exception as exc:  # a shape rule must never crash the editor
                    problems.append(Problem(nid, None, f"cannot work out the output shape: {exc}", "shape"))
            return shapes, problems
        finally:
            self._in_edges = saved

    # ------------------------------------------------------------ checking
    def validate(self) -> list[Problem]:
        """Every problem in the graph, each naming its node and port."""
        problems: list[Problem] = []
        for nid, node in self.nodes.items():
            spec = node.spec
            if spec is None:
                problems.append(Problem(nid, None, f"unknown op {node.op!r}", "unknown_op"))
                continue
            for port in spec.inputs:
                if not port.optional and (nid, port.name) not in self._in_edges:
                    problems.append(Problem(nid, port.name, f"missing required input {port.name!r}", "missing_input"))
            if spec.source and "value" not in node.tensors:
                problems.append(Problem(nid, None, "has no value", "no_value"))
        for (dst, port), e in self._in_edges.items():
            if e.src not in self.nodes:
                problems.append(Problem(dst, port, f"wired from missing node {e.src!r}", "bad_port"))
            if dst not in self.nodes:
                problems.append(Problem(dst, port, f"wire into missing node {dst!r}", "bad_port"))
                continue
            spec = self.nodes[dst].spec
            if spec is not None and spec.port(port) is None:
                problems.append(Problem(dst, port, f"{spec.name} has no input port {port!r}", "bad_port"))
        _, shape_problems = self.infer_shapes()
        problems.extend(shape_problems)
        return problems
