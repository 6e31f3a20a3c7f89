"""Driving a run from any thread: pause, resume, stop, and settings changed while it trains.

Mixed into Trainer: requests are checked when made and applied between two steps (see trainer.py)."""
from __future__ import annotations

from ..problems import GraphError
from . import optim, schedules


class LiveControl:
    # ------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._stop = True
        self._go.set()

    @property
    def stopping(self) -> bool:
        return self._stop

    def request_settings(self, optimizer: dict | None = None, schedule: dict | str | None = None,
                         params: dict | None = None) -> None:
        """Queue new settings (any thread, after prepare()): optimizer settings {"lr": ..., "momentum": ...,
        optionally "kind"}, a whole schedule, node params {(node id, name): value}. Everything is checked
        here (OptimizerError / ScheduleError name the bad setting; nothing is queued then) and applied
        before the next step; requests that arrive before it merge, the latest value winning."""
        with self._settings_lock:
            pend = dict(self._pending or {})
            if optimizer is not None:
                o = dict(optimizer)
                kind = o.pop("kind", None) or pend.get("kind") or self.optimizer.kind
                hyper = {**self.optimizer.hyper, **pend.get("optimizer", {}), **o}
                optim.validated(kind, hyper)
                pend["kind"], pend["optimizer"] = kind, {**pend.get("optimizer", {}), **o}
            if schedule is not None:
                schedules.from_settings(schedule)
                pend["schedule"] = schedule
            if params:
                for nid, name in params:
                    if nid not in self.graph.nodes:
                        raise ValueError(f"no node {nid!r} in the graph being trained")
                pend["params"] = {**pend.get("params", {}), **params}
            self._pending = pend or None

    def _apply_settings(self) -> None:
        """Between two steps: the queued settings take effect, and an event says what changed."""
        with self._settings_lock:
            pend, self._pending = self._pending, None
        if not pend:
            return
        g = self.graph
        before = {**self.optimizer.settings(), "schedule": self.schedule.settings()}
        before.update({f"{g.nodes[n].name}.{k}": g.nodes[n].params.get(k) for n, k in pend.get("params", {})})
        try:
            if "optimizer" in pend:
                self.optimizer.configure(pend["kind"], **pend["optimizer"])  # checked again; all or nothing
                self.lr0 = optim.base_lr(self.optimizer.settings())  # the schedule's new starting rate
            if "schedule" in pend:
                self.schedule = schedules.from_settings(pend["schedule"])
            for (nid, name), value in pend.get("params", {}).items():
                g.set_param(nid, name, value)
        except (ValueError, GraphError) as exc:  # checked when requested: only a node's own check is left
            self._event("settings_refused", f"New settings refused: {exc}. Training goes on with the others.")
            return
        after = {**self.optimizer.settings(), "schedule": self.schedule.settings()}
        after.update({f"{g.nodes[n].name}.{k}": g.nodes[n].params.get(k) for n, k in pend.get("params", {})})
        changed = [f"{k} {_show(after.get(k))} (was {_show(before.get(k))})" for k in after
                   if after.get(k) != before.get(k)]
        if changed:  # a value typed again, or a field the run does not use: nothing to say
            self._event("settings", f"From iteration {self.steps_done + 1}: {', '.join(changed)}", settings=after)


def _show(v) -> str:
    if isinstance(v, dict):
        return " ".join(f"{k}={_show(x)}" for k, x in v.items())
    return f"{v:g}" if isinstance(v, float) else str(v)
