"""``python -I -S landlock_exec.py --write=DIR… [--no-network] -- ARGV…``: run ARGV under Landlock rules.

Why a script of its own, started for each confined command: Landlock restricts the calling thread and
everything it starts afterwards, and the engine is a threaded process that must stay unrestricted, so
the rules are applied in a fresh process. It needs only the standard library (it runs with ``-S``, no
site-packages, to start fast) and does four things:

1. builds a ruleset that handles every kind of filesystem write (and, with ``--no-network``, TCP bind
   and connect when the kernel's ABI is 4 or more), allows writes only beneath each ``--write`` folder
   and to ``/dev/null``-like devices, and, from ABI 6, scopes signals and abstract UNIX sockets to the
   sandbox (a step cannot signal the engine);
2. restricts itself (``no_new_privs`` first, as Landlock requires without privileges);
3. becomes a child subreaper, so what the command orphans (``setsid``, double forks) is handed to it;
4. runs ARGV, waits for it, then kills and reaps every process still left, and exits with ARGV's code
   (128 + signal number when a signal ended it).

Exit code 126 with a message on stderr when Landlock cannot be applied: the command never runs unconfined.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

# Landlock is Linux's: the sandbox starts this wrapper nowhere else (and type checks for other platforms stop here).
assert sys.platform == "linux", "landlock_exec runs on Linux only"

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER = 38, 36

# Filesystem access rights (include/uapi/linux/landlock.h), by the ABI that introduced them.
_WRITE_FILE = 1 << 1
_FS_WRITES_ABI1 = (
    _WRITE_FILE
    | (1 << 4)  # REMOVE_DIR
    | (1 << 5)  # REMOVE_FILE
    | (1 << 6)  # MAKE_CHAR
    | (1 << 7)  # MAKE_DIR
    | (1 << 8)  # MAKE_REG
    | (1 << 9)  # MAKE_SOCK
    | (1 << 10)  # MAKE_FIFO
    | (1 << 11)  # MAKE_BLOCK
    | (1 << 12)  # MAKE_SYM
)
_REFER, _TRUNCATE = 1 << 13, 1 << 14
_NET_TCP = (1 << 0) | (1 << 1)  # BIND_TCP | CONNECT_TCP (ABI 4)
_SCOPES = (1 << 0) | (1 << 1)  # ABSTRACT_UNIX_SOCKET | SIGNAL (ABI 6)
_SIGKILL = 9  # not from the signal module: importing it (and enum) costs a few ms per command
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _fail(message: str) -> int:
    sys.stderr.write(f"uet sandbox (landlock): {message}; the command was not run\n")
    return 126


def _restrict(libc: ctypes.CDLL, writable: list[str], no_network: bool) -> str | None:
    """Apply the rules to this process; why not, or None."""
    abi = int(libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), 1))
    if abi < 1:
        return "the kernel offers no Landlock"
    fs = _FS_WRITES_ABI1 | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(fs, _NET_TCP if no_network and abi >= 4 else 0, _SCOPES if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = int(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        return f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}"
    rules = [(path, fs) for path in writable] + [(dev, _WRITE_FILE | (fs & _TRUNCATE)) for dev in _DEVICES]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a device this system lacks
        try:
            if not os.path.isdir(path):
                access &= _WRITE_FILE | _TRUNCATE  # only file rights may be granted on a file
            rule = _PathBeneath(access, fd)
            if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                return f"landlock_add_rule({path}) failed: {os.strerror(ctypes.get_errno())}"
        finally:
            os.close(fd)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(no_new_privs) failed: {os.strerror(ctypes.get_errno())}"
    if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
        return f"landlock_restrict_self failed: {os.strerror(ctypes.get_errno())}"
    os.close(ruleset)
    return None


def _children() -> list[int]:
    """This process's children (orphans it adopted as subreaper included).

    ``/proc/self/task/*/children`` where the kernel has it, else every ``/proc/PID/stat`` whose parent is us.
    """
    found: list[int] = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                found += [int(pid) for pid in handle.read().split()]
        return found
    except OSError:
        pass
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if len(fields) > 1 and int(fields[1]) == me:
                found.append(int(entry))
    return found


def _sweep() -> None:
    """Kill and reap every process left (each round adopts the orphans of the one before)."""
    while True:
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def main(args: list[str]) -> int:
    if "--" not in args:
        return _fail("usage: landlock_exec.py --write=DIR... [--no-network] -- ARGV...")
    cut = args.index("--")
    options, argv = args[:cut], args[cut + 1 :]
    writable = [o.removeprefix("--write=") for o in options if o.startswith("--write=")]
    if not argv:
        return _fail("no command given")
    libc = ctypes.CDLL(None, use_errno=True)
    problem = _restrict(libc, writable, "--no-network" in options)
    if problem is not None:
        return _fail(problem)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        child = os.posix_spawnp(argv[0], argv, dict(os.environ))
    except OSError as exc:
        sys.stderr.write(f"{argv[0]}: {exc.strerror or exc}\n")
        return 127
    status = 0
    while True:
        try:
            pid, status = os.waitpid(child, 0)
        except InterruptedError:
            continue
        if pid == child:
            break
    _sweep()
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
