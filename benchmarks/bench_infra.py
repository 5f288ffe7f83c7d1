"""The engine's infrastructure pieces on their own: the run lock, the registry of process groups, the
group kill after each step, and the import they add to ``uet run``'s start.

Each figure is the median of several rounds (``--quick``: fewer), in microseconds per call:

- lock: ``RunLock.acquire()`` + ``release()`` on a fresh repository folder, and a refused ``acquire()``
  while another ``RunLock`` holds it (the ``LockHeld`` path, which reads the holder's text);
- process groups: ``GroupRegistry.add()`` + ``remove()`` of a live process (done for every step), the
  scan ``kill_leftovers()`` of 100 entries a dead engine left (their leaders gone or recycled), and
  ``kill_group()`` of a step that has exited (what every step ends with);
- import: a fresh interpreter importing ``uet_engine.execution.coordinator`` (ms, best of the rounds);
- process (also alone: ``python -m benchmarks infra --process``): the engine's CPU time per ``execute()`` of
  ``sh -c true`` (500 per round, 200 with ``--quick``), with the selector over the pipes and the leader's pidfd
  against the reader and timer threads used where there is no pidfd; CPU, not wall time, since the command's
  own run is the same for both: the calling thread's (``time.thread_time``) and the whole engine's
  (``getrusage(RUSAGE_SELF)``, every thread, children excluded). The paths alternate, round by round.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from uet_contracts import ExecutionRequest, FileScope
from uet_engine.execution import process
from uet_engine.execution.orphans import GROUPS_DIR, GroupRegistry
from uet_engine.execution.process import kill_group
from uet_engine.saving.lock import LockHeld, RunLock

STALE_ENTRIES = 100


def _median_us(call: Callable[[], object], rounds: int, per_round: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            call()
        samples.append((time.perf_counter() - start) / per_round * 1e6)
    return statistics.median(samples)


def _lock_cycle(repo: Path) -> Callable[[], None]:
    def cycle() -> None:
        RunLock(repo, "run-bench").acquire().release()

    return cycle


def _refused(repo: Path) -> Callable[[], None]:
    def refuse() -> None:
        try:
            RunLock(repo, "run-second").acquire()
        except LockHeld:
            return
        raise AssertionError("the second lock was not refused")

    return refuse


def _registry_cycle(repo: Path, pid: int) -> Callable[[], None]:
    registry = GroupRegistry(repo)

    def cycle() -> None:
        registry.add(pid)
        registry.remove(pid)

    return cycle


def _stale_scan(repo: Path) -> Callable[[], None]:
    folder = repo / GROUPS_DIR
    # Process ids far above any live one (gone) and this process's own id with a wrong start time (recycled).
    names = [str(4_000_000 + i) for i in range(STALE_ENTRIES - 1)] + [str(os.getpid())]

    def scan() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text("1", encoding="ascii")
        if GroupRegistry(repo).kill_leftovers():
            raise AssertionError("a stale entry was killed")

    return scan


def _import_ms(rounds: int) -> float:
    code = "import uet_engine.execution.coordinator"
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _command_cpu_ms(cwd: Path, calls: int, threaded: bool) -> tuple[float, float]:
    """The calling thread's and the whole engine's CPU time per ``execute()`` of ``sh -c true`` (ms)."""
    req = ExecutionRequest(
        operation_kind="EXEC-BENCH",
        tool="sh",
        run="true",
        file_scope=FileScope(create=[], modify=[], read_only=[]),
        tools_used=["sh"],
        context={},
        timeout_s=60,
    )
    # Threaded: the path of the systems without pidfd (reader and timer threads), as the tests force it.
    path = mock.patch.object(process, "pidfd_supported", lambda: False) if threaded else contextlib.nullcontext()
    with path:
        thread0, usage0 = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(calls):
            if not process.execute(req, cwd).success:
                raise AssertionError("sh -c true failed")
        thread1, usage1 = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF)
    engine = usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime
    return (thread1 - thread0) / calls * 1000, engine / calls * 1000


def process_main(quick: bool = False) -> int:
    """The engine's CPU per command: selector + pidfd in the calling thread against reader and timer threads."""
    if not process.pidfd_supported():
        print("process: no pidfd here (needs Linux 5.3 or later): only the threaded path exists")
        return 0
    rounds, calls = (3, 200) if quick else (5, 500)
    samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="uet-bench-process-") as tmp:
        for _ in range(rounds):
            for threaded in (False, True):
                samples[threaded].append(_command_cpu_ms(Path(tmp), calls, threaded))
    (own, engine), (own_t, engine_t) = (
        (statistics.median(s[0] for s in samples[k]), statistics.median(s[1] for s in samples[k]))
        for k in (False, True)
    )
    print(f"process: engine CPU per execute() of sh -c true, medians of {rounds} rounds of {calls}")
    print(f"  calling thread:  pidfd {own:6.3f} ms   threads {own_t:6.3f} ms   ({own_t / own:4.2f}x)")
    print(f"  whole engine:    pidfd {engine:6.3f} ms   threads {engine_t:6.3f} ms   ({engine_t / engine:4.2f}x)")
    return 0


def main(quick: bool = False) -> int:
    rounds = 3 if quick else 7
    scale = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="uet-bench-infra-") as tmp:
        root = Path(tmp)
        lock_us = _median_us(_lock_cycle(root / "a"), rounds, 200 * scale)
        with RunLock(root / "b", "run-holder"):
            refused_us = _median_us(_refused(root / "b"), rounds, 200 * scale)
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        try:
            registry_us = _median_us(_registry_cycle(root / "c", sleeper.pid), rounds, 200 * scale)
        finally:
            sleeper.kill()
            sleeper.wait()
        scan_us = _median_us(_stale_scan(root / "d"), rounds, 2 * scale)
        finished = subprocess.Popen(["/bin/sh", "-c", "true"], start_new_session=True)
        finished.wait()
        kill_us = _median_us(lambda: kill_group(finished), rounds, 200 * scale)
    import_ms = _import_ms(rounds)
    print(f"infra: medians of {rounds} rounds")
    print(f"  lock acquire + release:        {lock_us:9.1f} us")
    print(f"  lock refused (LockHeld):       {refused_us:9.1f} us")
    print(f"  group registry add + remove:   {registry_us:9.1f} us")
    print(f"  orphan scan of {STALE_ENTRIES} entries:     {scan_us / 1000:9.2f} ms")
    print(f"  kill_group of an exited step:  {kill_us:9.1f} us")
    print(f"  import of the coordinator:     {import_ms:9.1f} ms  (fresh interpreter, best)")
    return process_main(quick)


MODES = {"--process": process_main}


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
