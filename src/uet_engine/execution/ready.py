"""The ready set the coordinator drives: which phases may start now, and which are skipped and why.

Why in execution: it is the run's bookkeeping over the plan's edges (started, finished, failed), not a
property of the plan itself; planning hands over the edges, execution walks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from uet_engine.planning import graph


class ReadySet:
    """Ready-set iteration over a DAG: which phases may start, given which finished, failed or were skipped.

    A phase is ready when it has not started and all its prerequisites succeeded. When a phase fails,
    every phase that depends on it (directly or through others) is skipped, with the reason naming the
    prerequisite that failed or was skipped. ``done()`` once every phase succeeded, failed or was skipped.
    Misuse (starting a phase that is not ready, finishing one that is not running) raises ``ValueError``.
    """

    def __init__(self, edges: Mapping[str, Iterable[str]], nodes: Iterable[str]) -> None:
        self._nodes = set(nodes)
        self._prereqs: dict[str, set[str]] = {node: set() for node in self._nodes}
        self._dependents: dict[str, list[str]] = {node: [] for node in self._nodes}
        for node, prereqs in edges.items():
            if node not in self._nodes:
                continue
            for prereq in prereqs:
                if prereq not in self._nodes:
                    raise ValueError(f"{node} depends on {prereq}, which is not among the nodes")
                self._prereqs[node].add(prereq)
                self._dependents[prereq].append(node)
        loops = graph.cycles({node: sorted(prereqs) for node, prereqs in self._prereqs.items()})
        if loops:
            raise ValueError(f"dependency cycle: {' -> '.join(loops[0])}")
        self._waiting = {node: len(prereqs) for node, prereqs in self._prereqs.items()}
        self._ready = {node for node, count in self._waiting.items() if count == 0}
        self._running: set[str] = set()
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()
        self.skipped: dict[str, str] = {}

    def ready(self) -> list[str]:
        """Phases not yet started whose prerequisites all succeeded, sorted."""
        return sorted(self._ready)

    def running(self) -> list[str]:
        """Phases started and not yet finished, sorted."""
        return sorted(self._running)

    def unlocked_by(self, phase_id: str) -> list[str]:
        """The phases that become ready if the running ``phase_id`` succeeds (it is all they still wait for),
        sorted: what may start while its success is being recorded."""
        if phase_id not in self._running:
            return []
        return sorted(
            dependent
            for dependent in set(self._dependents[phase_id])
            if self._waiting[dependent] == 1 and dependent not in self.skipped and dependent not in self.succeeded
        )

    def start(self, phase_id: str) -> None:
        if phase_id not in self._ready:
            raise ValueError(f"{phase_id} is not ready to start ({self._state(phase_id)})")
        self._ready.remove(phase_id)
        self._running.add(phase_id)

    def finish(self, phase_id: str, succeeded: bool) -> None:
        """Records the outcome of a running phase: its dependents become ready, or are skipped."""
        if phase_id not in self._running:
            raise ValueError(f"{phase_id} is not running ({self._state(phase_id)})")
        self._running.remove(phase_id)
        if succeeded:
            self._succeed(phase_id)
        else:
            self.failed.add(phase_id)
            self._skip_dependents(phase_id, f"prerequisite {phase_id} failed")

    def assume_succeeded(self, ids: Iterable[str]) -> None:
        """Marks phases as already succeeded without running them (resume, or prerequisites outside a
        ``--ws-id`` selection). Only phases that have not started may be marked."""
        for phase_id in sorted(set(ids)):
            if phase_id in self.succeeded:
                continue
            if phase_id not in self._nodes or phase_id in self._running or phase_id in self.failed:
                raise ValueError(f"{phase_id} cannot be marked succeeded ({self._state(phase_id)})")
            self.skipped.pop(phase_id, None)
            self._ready.discard(phase_id)
            self._succeed(phase_id)

    def done(self) -> bool:
        return len(self.succeeded) + len(self.failed) + len(self.skipped) == len(self._nodes)

    def _succeed(self, phase_id: str) -> None:
        self.succeeded.add(phase_id)
        for dependent in self._dependents[phase_id]:
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0 and dependent not in self.skipped and dependent not in self.succeeded:
                self._ready.add(dependent)

    def _skip_dependents(self, phase_id: str, reason: str) -> None:
        queue = [(phase_id, reason)]
        for node, why in queue:  # breadth first: the list grows while it is walked
            for dependent in sorted(self._dependents[node]):
                if dependent in self.skipped or dependent in self.succeeded:
                    continue
                self.skipped[dependent] = why
                self._ready.discard(dependent)
                queue.append((dependent, f"prerequisite {dependent} was skipped"))

    def _state(self, phase_id: str) -> str:
        if phase_id not in self._nodes:
            return "unknown phase"
        if phase_id in self._running:
            return "running"
        for name, group in (("succeeded", self.succeeded), ("failed", self.failed), ("skipped", self.skipped)):
            if phase_id in group:
                return name
        if phase_id in self._ready:
            return "ready"
        waiting = sorted(p for p in self._prereqs[phase_id] if p not in self.succeeded)
        return "waiting for " + ", ".join(waiting)
