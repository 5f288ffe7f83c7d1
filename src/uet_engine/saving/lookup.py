"""Which records a person means: the repository whose store to read, and the run a short name stands for.

Why a module: every command that takes a run id (``uet runs show``, ``uet run --resume``, and the ones
that read a run's errors or logs) must understand the same names, and every ``uet runs …`` command must
find the records from any folder of the repository, as ``uet run`` finds its repository. Both answers
are decisions over the store only; nothing here writes.

A run is named by its full id, by ``latest`` (the most recently started run), or by any start of its id
that only one run has (``run-20261125T1540``, or the same without ``run-``). A start that several runs
share is refused with the matching runs listed, newest first, so the person can pick one.
"""

from __future__ import annotations

from pathlib import Path

from uet_engine.errors import UnknownRun
from uet_engine.saving.store import RunStore, store_path

LATEST = "latest"
RUN_PREFIX = "run-"
# How many matches an ambiguous start lists before saying how many more there are.
SHOWN_MATCHES = 5


def find_repo(start: Path) -> Path:
    """The folder whose ``.runs/uet.sqlite`` holds the records for ``start``.

    ``start`` itself or the nearest folder above it with a run store; the search stops at the top of the
    git repository holding ``start`` (a folder with ``.git``), so records of an enclosing project are never
    read by mistake. Without a store anywhere on the way, the repository's top (or ``start`` outside any
    repository): opening its store then says that nothing has been run there. ``start`` itself comes back
    as given (relative, say) when it is the answer, so messages name it as the person wrote it.
    """
    given = Path(start)
    here = given.absolute()
    for folder in (here, *here.parents):
        if store_path(folder).is_file() or (folder / ".git").exists():
            return given if folder == here else folder
    return given


def resolve_run(store: RunStore, name: str, *, missing_ok: bool = False) -> str:
    """The run id ``name`` stands for in ``store``; ``UnknownRun`` when it matches none or several.

    ``missing_ok``: a name no run of the store has is given back as it is (for records kept outside the
    store, such as the error log, which may name runs the store no longer holds).
    """
    wanted = name.strip()
    if wanted == LATEST:
        newest = store.run_ids_starting("", 1)
        if not newest:
            raise UnknownRun(f"no run recorded in {store.path} yet, so there is no latest run")
        return newest[0]
    if not wanted:
        raise UnknownRun("a run id cannot be empty; give a run id, its start, or latest")
    if not wanted.startswith(RUN_PREFIX) and not RUN_PREFIX.startswith(wanted):
        wanted = RUN_PREFIX + wanted
    matches = store.run_ids_starting(wanted, SHOWN_MATCHES + 1)
    if wanted in matches:
        return wanted
    if len(matches) == 1:
        return matches[0]
    if not matches and missing_ok:
        return name.strip()
    if not matches:
        raise UnknownRun(f"no run {name} in {store.path}; uet runs list shows the recorded runs")
    shown = ", ".join(matches[:SHOWN_MATCHES])
    more = ""
    if len(matches) > SHOWN_MATCHES:
        more = f" and {len(store.run_ids_starting(wanted, -1)) - SHOWN_MATCHES} more"
    raise UnknownRun(f"{name} is the start of several runs: {shown}{more}; give more of the run id")
