"""Training processes that never answer Stop, for the worker's Stop tests (cheap: no imports)."""
import signal
import time


def ignore_stop(out_conn, cmd_conn, *args):
    """Busy for ever (as if stuck reading its data): the stop command is never read."""
    out_conn.send(("event", {"type": "started"}))
    while True:
        time.sleep(0.05)


def ignore_stop_and_terminate(out_conn, cmd_conn, *args):
    """Ignores SIGTERM as well: only a kill ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ignore_stop(out_conn, cmd_conn)
