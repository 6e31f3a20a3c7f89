"""The babysitting checks' process: runs graphcore.train.checks on a copy and sends each verdict back.

Messages: ("verdict", Verdict.to_dict()) per check as it is decided, then ("done", None), or
("error", one line) when the checks cannot run (no data, a bad setting). No Qt here.
"""
from __future__ import annotations

import pickle


def checks_main(out_conn, graph_bytes: bytes, training: dict, gui: dict, base_dir, policy=None) -> None:
    """`training` and `gui` are the Train form's settings, applied as a training run applies them."""
    import os

    from graphcore.train import checks
    from graphcore.train.session import apply_reg_strength, prepare_graph

    try:
        os.nice(5)  # the window's thread goes first
    except (AttributeError, OSError):
        pass
    try:
        graph = pickle.loads(graph_bytes)
        prepare_graph(graph, gui, int(training.get("seed", 0)))
        if gui.get("reg_strength") is not None:
            training = apply_reg_strength(graph, training, gui["reg_strength"])
        for verdict in checks.iter_checks(graph, training, base_dir=base_dir, policy=policy):
            out_conn.send(("verdict", verdict.to_dict()))
        out_conn.send(("done", None))
    except Exception as exc:  # one line for the panel; the checks never crash the window
        out_conn.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0][:300]))
    finally:
        out_conn.close()
