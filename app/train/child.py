"""The training process: runs one TrainJob (graphcore.train.session) and talks to the GUI over two pipes.

Messages to the GUI are (kind, payload) tuples from the job's emit, then ("done", result).
Commands from the GUI ("stop", "pause", "resume", "epoch", ("settings", {...})) arrive on a second pipe, read by
a small thread so they take effect before the next training step. No Qt here.
"""
from __future__ import annotations

import pickle
import threading


def child_main(out_conn, cmd_conn, graph_bytes: bytes, training: dict, gui: dict, base_dir, snapshots: bool,
               policy=None) -> None:
    """`policy` (a graphcore DataPolicy: the data limits and the files the user allowed) comes from the
    GUI as an argument; nothing about data is read from this process's environment."""
    import os

    from graphcore.train.session import TrainJob  # imported here: the spawn start method imports this module first

    try:
        os.nice(5)  # on a busy machine the window's thread goes first: training only slows a little
    except (AttributeError, OSError):
        pass

    graph = pickle.loads(graph_bytes)
    send_lock = threading.Lock()

    def emit(kind, payload):
        with send_lock:
            out_conn.send((kind, payload))

    job = TrainJob(graph, training, gui, base_dir, snapshots, emit, policy=policy)

    def listen():
        while True:
            try:
                cmd = cmd_conn.recv()
            except (EOFError, OSError):
                job.request_stop()  # the GUI went away: stop rather than train for nobody
                return
            if isinstance(cmd, tuple):
                if len(cmd) == 2 and cmd[0] == "settings":
                    job.request_settings(cmd[1])  # checked there: a bad value is refused with a message
            elif cmd == "stop":
                job.request_stop()
            elif cmd == "pause":
                job.request_pause(True)
            elif cmd == "resume":
                job.request_pause(False)
            elif cmd == "epoch":
                job.request_epoch()
            elif cmd == "quit":
                return

    threading.Thread(target=listen, name="train-commands", daemon=True).start()
    result = job.run()
    emit("done", result)
    out_conn.close()
