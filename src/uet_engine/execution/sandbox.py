"""Confine every command a workstream runs to its own worktree, with what the operating system offers.

Why: ``file_scope`` is the trust boundary when steps are driven by AI agents, and a check made after a
step (``uet_engine.detection``) only sees what reached the repository. So each step and acceptance check
runs inside an operating-system sandbox derived from its workstream: the whole filesystem read-only but
the worktree (and, where the mechanism allows, the ``read_only`` paths inside it read-only too), a
private temporary folder, the repository's git directory read-only (the engine stages the step's changes
itself, from outside, once the step is over), and, with ``--no-network`` or the spec's ``no_network``, no
network. The mechanisms, in the order ``auto`` tries them:

- **bubblewrap** (Linux, the ``bwrap`` program): a mount namespace with ``/`` bound read-only, a fresh
  ``/dev`` and ``/proc``, a tmpfs on ``/tmp``, the worktree bound writable and its ``.git`` pointer file
  and existing ``read_only`` paths bound read-only over it; a PID namespace whose end kills everything
  the command started (``setsid`` and double forks included); ``--unshare-net`` for no network.
- **landlock** (Linux 5.13+, no program needed): Landlock rules applied by a small wrapper
  (``uet_engine.execution.landlock_exec``) before it starts the command: writes only beneath the worktree
  and a private temporary folder; reading is left alone. The wrapper is a child subreaper and kills
  what the command left behind when it ends. ``no_network`` denies TCP bind and connect (ABI 4+); UDP
  stays possible. ``read_only`` paths inside the worktree are guarded by the scope check only.
- **seatbelt** (macOS ``sandbox-exec``): a profile that denies every file write but beneath the worktree
  and the private temporary folder (``read_only`` paths denied again), and the network when asked. macOS
  has no PID namespace: the process group and tree kill of ``uet_engine.execution.process`` stay the net.

``auto`` takes the first that works and runs unconfined (``none``, with a warning, recorded) when none
does; ``required`` refuses to run without one; ``off`` never confines; a mechanism's name requires that
one. What ran is recorded in each RunRecord (``sandbox``, ``network``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, get_args

from uet_contracts import PhaseSpec, SandboxMechanism, SandboxMode
from uet_engine.errors import RunRefused

MODES: Final[tuple[SandboxMode, ...]] = get_args(SandboxMode)
MECHANISMS: Final[tuple[SandboxMechanism, ...]] = get_args(SandboxMechanism)

# Linux syscall numbers of Landlock: new syscalls share one number on every architecture.
SYS_LANDLOCK_CREATE_RULESET: Final = 444
LANDLOCK_CREATE_RULESET_VERSION: Final = 1

# At most this many read-only bind mounts for ``read_only`` paths inside the worktree (each mount costs
# time at every command); past it, the scope check alone guards the rest.
MAX_READ_ONLY_MOUNTS: Final = 64

_SEATBELT = Path("/usr/bin/sandbox-exec")


# -- what is available ---------------------------------------------------------------------------------------


@functools.cache
def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when a probe sandbox ran."""
    if not sys.platform.startswith("linux"):
        return "bubblewrap is Linux only"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        done = subprocess.run(
            [bwrap, *_BWRAP_BASE, "--", "/bin/true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not start: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return f"bubblewrap cannot make a sandbox here: {lines[-1] if lines else f'exit code {done.returncode}'}"
    return None


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, too old, disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = int(libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), LANDLOCK_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(abi, 0)


def landlock_problem() -> str | None:
    """Why Landlock cannot be used here, or None."""
    if not sys.platform.startswith("linux"):
        return "Landlock is Linux only"
    if landlock_abi() < 1:
        return "the kernel offers no Landlock (Linux 5.13+ with landlock in the lsm= list)"
    return None


def seatbelt_problem() -> str | None:
    """Why Seatbelt cannot be used here, or None."""
    if sys.platform != "darwin":
        return "Seatbelt is macOS only"
    if not _SEATBELT.exists():
        return f"{_SEATBELT} is missing"
    return None


_PROBES: dict[str, Callable[[], str | None]] = {
    "bubblewrap": bubblewrap_problem,
    "landlock": landlock_problem,
    "seatbelt": seatbelt_problem,
}


def problems() -> dict[str, str | None]:
    """Each mechanism and why it cannot be used here (None: it can), in the order ``auto`` tries them."""
    return {name: probe() for name, probe in _PROBES.items()}


# -- the run's choice ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    """The mechanism a run confines its commands with (chosen once, at the start), and the network default.

    ``why_none`` says why no mechanism is used when ``mechanism`` is ``none`` (for the warning and docs).
    """

    mechanism: SandboxMechanism = "none"
    network: bool = True
    why_none: str | None = None

    def confine(
        self, worktree: Path, root: Path, *, read_only: Sequence[str] = (), network: bool = True
    ) -> Confinement | None:
        """How the commands of one workstream are wrapped (None: unconfined).

        ``read_only`` are repository paths (POSIX) that exist in the worktree and must stay unchanged;
        ``network`` is false when the phase asks for no network (the run's own default applies too).
        """
        if self.mechanism == "none":
            return None
        return Confinement(
            self.mechanism,
            worktree.resolve(),
            root.resolve(),
            tuple(read_only),
            network=network and self.network,
        )

    def network_for(self, spec: PhaseSpec) -> bool:
        """Whether a phase's commands keep the network: not when the run or the phase says no and the
        mechanism can take it away."""
        wanted = self.network and not spec.no_network
        return wanted or not self.can_remove_network()

    def can_remove_network(self) -> bool:
        """Whether this mechanism can take the network away (Landlock needs ABI 4 for TCP)."""
        return self.mechanism in ("bubblewrap", "seatbelt") or (self.mechanism == "landlock" and landlock_abi() >= 4)


UNCONFINED: Final = Sandbox()


def choose(mode: SandboxMode, *, network: bool = True) -> Sandbox:
    """The run's sandbox for ``mode``; ``RunRefused`` when the mode requires what is not available."""
    if mode not in MODES:
        raise RunRefused(f"unknown sandbox mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        return Sandbox("none", network, "--sandbox off")
    found = problems()
    if mode in _PROBES:
        why = found[mode]
        if why is not None:
            raise RunRefused(f"--sandbox {mode}: {why}; nothing was run")
        return Sandbox(mode, network)  # type: ignore[arg-type]  # a key of _PROBES is a mechanism
    for name, why in found.items():
        if why is None:
            return Sandbox(name, network)  # type: ignore[arg-type]
    reasons = "; ".join(f"{why}" for why in found.values() if why)
    if mode == "required":
        raise RunRefused(f"--sandbox required, but no sandbox works here ({reasons}); nothing was run")
    return Sandbox("none", network, reasons)


# -- one workstream's confinement -------------------------------------------------------------------------------


_BWRAP_BASE = (
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _under_tmp(path: Path) -> bool:
    return _inside(path, _resolved("/tmp"))


@functools.cache
def _resolved(path: str) -> Path:
    """``Path(path).resolve()`` of a folder that does not move during a run (``/tmp``, the interpreter's prefixes):
    resolved once, not for every command."""
    return Path(path).resolve()


@dataclass
class Confinement:
    """How each command of one workstream is wrapped: the argument vector, its environment.

    ``writable`` are the only places a command may write: the worktree and a private temporary folder
    (``tmpdir``; for bubblewrap it is the sandbox's own ``/tmp``). Call ``close`` when the workstream is over.
    """

    mechanism: SandboxMechanism
    worktree: Path
    root: Path
    read_only: tuple[str, ...] = ()
    network: bool = True
    tmpdir: Path = field(init=False)
    shared: list[Path] = field(default_factory=list)  # host folders a command must read (see ``expose``)

    def __post_init__(self) -> None:
        if self.mechanism == "bubblewrap":
            self.tmpdir = Path("/tmp")
        else:
            self.tmpdir = Path(tempfile.mkdtemp(prefix="uet-sandbox-")).resolve()

    @property
    def writable(self) -> tuple[Path, ...]:
        """Where a confined command may write (besides its own pipes and /dev/null)."""
        return (self.worktree, self.tmpdir)

    def protected(self) -> list[Path]:
        """Paths inside the worktree the mechanism keeps read-only: its ``.git`` pointer, ``read_only`` paths."""
        if self.mechanism == "landlock":
            return []
        found = [self.worktree / ".git"]
        for entry in self.read_only[:MAX_READ_ONLY_MOUNTS]:
            path = self.worktree / entry
            if os.path.lexists(path) and not path.is_symlink():
                found.append(path)
        return found

    def expose(self, folder: Path) -> None:
        """Let the commands read ``folder`` (the engine's files for them: a failure file, a prompt file) even where
        the sandbox hides it (under bubblewrap's private /tmp). Read-only; a folder gone by then is left out."""
        self.shared.append(folder.resolve())

    def rebound(self, argv: Sequence[str] = ()) -> list[Path]:
        """What bubblewrap brings back, read-only, over its private /tmp: the repository, Python, the exposed
        folders and the folder of the program to run, when they live there."""
        if self.mechanism != "bubblewrap":
            return []
        wanted = [self.root, _resolved(sys.prefix), _resolved(sys.base_prefix), *self.shared]
        if argv and os.path.isabs(argv[0]):
            wanted.append(Path(argv[0]).resolve().parent)
        found: list[Path] = []
        for keep in wanted:
            if _under_tmp(keep) and keep.exists() and not any(_inside(keep, f) for f in found):
                found = [f for f in found if not _inside(f, keep)] + [keep]
        return found

    def may_write(self, path: Path) -> bool:
        """Whether a confined command may write ``path`` (absolute, normalised)."""
        if any(_inside(path, p) for p in self.protected()):
            return False
        if _inside(path, self.worktree):
            return True
        if any(_inside(path, keep) for keep in self.rebound()):
            return False
        return _inside(path, self.tmpdir) or path in (Path("/dev/null"), Path("/dev/tty"))

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """The command's environment: the workstream's, with the temporary folder pointing at the private one."""
        tmp = str(self.tmpdir)
        return {**env, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The argument vector that runs ``argv`` confined (cwd: the worktree)."""
        if self.mechanism == "bubblewrap":
            return self._bubblewrap(argv)
        if self.mechanism == "landlock":
            return self._landlock(argv)
        if self.mechanism == "seatbelt":
            return [str(_SEATBELT), "-p", seatbelt_profile(self), *argv]
        return list(argv)

    def _bubblewrap(self, argv: Sequence[str]) -> list[str]:
        args = [shutil.which("bwrap") or "bwrap", *_BWRAP_BASE, "--tmpfs", "/tmp"]
        # The tmpfs hides what lived under /tmp: bring back, read-only, what a command needs from there.
        for keep in self.rebound(argv):
            args += ["--ro-bind", str(keep), str(keep)]
        args += ["--bind", str(self.worktree), str(self.worktree)]
        for path in self.protected():
            args += ["--ro-bind", str(path), str(path)]
        if not self.network:
            args.append("--unshare-net")
        return [*args, "--chdir", str(self.worktree), "--", *argv]

    def _landlock(self, argv: Sequence[str]) -> list[str]:
        wrapper = Path(__file__).with_name("landlock_exec.py")
        spec = [f"--write={path}" for path in self.writable]
        if not self.network:
            spec.append("--no-network")
        return [sys.executable, "-I", "-S", str(wrapper), *spec, "--", *argv]

    def close(self) -> None:
        """Remove the private temporary folder (bubblewrap's vanishes with its sandbox)."""
        if self.mechanism != "bubblewrap":
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _sbpl(path: Path) -> str:
    text = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def seatbelt_profile(confinement: Confinement) -> str:
    """The macOS sandbox profile (SBPL) of a confinement: writes only beneath the writable folders.

    Later rules win in SBPL, so the read-only paths inside the worktree are denied after it is allowed.
    """
    lines = [
        "(version 1)",
        "(allow default)",
        "(deny file-write*)",
        "(allow file-write*",
        *(f"  (subpath {_sbpl(path)})" for path in confinement.writable),
        '  (literal "/dev/null") (literal "/dev/tty") (literal "/dev/dtracehelper") (regex #"^/dev/fd/"))',
    ]
    protected = [confinement.worktree / ".git", *(confinement.worktree / p for p in confinement.read_only)]
    lines += [f"(deny file-write* (subpath {_sbpl(path)}))" for path in protected]
    if not confinement.network:
        lines += ["(deny network*)", '(allow network* (remote unix-socket (path-literal "/private/var/run/syslog")))']
    return "\n".join(lines) + "\n"
