"""The attacker's tests: steps that try to reach outside their worktree, in real git repositories.

Each escape runs under every sandbox mechanism this machine has (blocked, named, nothing outside the
worktree changed) and without a sandbox (``--sandbox off``: detected after the step where the engine can
see it, and the workstream failed). A mechanism this machine lacks is skipped with the reason the probe
gives; CI installs bubblewrap, and its kernel has Landlock.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.uet_engine.cli.test_run import (
    assert_every_record_validates,
    make_repo,
    phase,
    rows,
    step,
    tracked_and_untracked,
    uet,
)
from tests.uet_engine.phase_specs import write
from uet_engine.execution import sandbox

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="bubblewrap and Landlock are Linux's: run these tests on Linux"
)

MECHANISMS = ("bubblewrap", "landlock")


def _mechanism(name: str) -> str:
    why = sandbox.problems()[name]
    if why is not None:
        pytest.skip(
            f"{name} is not available on this machine ({why}): install bubblewrap, or use a kernel with Landlock"
        )
    return name


@pytest.fixture(params=MECHANISMS)
def confined(request: pytest.FixtureRequest) -> str:
    return _mechanism(request.param)


@pytest.fixture(params=[*MECHANISMS, "off"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param if request.param == "off" else _mechanism(request.param)


UP = '"$(git rev-parse --git-common-dir)/.."'


def run_one(tmp_path: Path, mode: str, run: str, **scope: Any) -> tuple[Path, Any, dict[str, Any]]:
    """A repository with README.md and config.yaml, one phase with one step ``run``; (repo, done, record)."""
    repo = tmp_path / "repo"
    if not repo.exists():
        make_repo(repo, {"README.md": "# demo\n", "config.yaml": "x: 1\n"})
    scope.setdefault("create", ["out.txt"])
    write(tmp_path / "specs", phase("PH-A", [], [step(run)], **scope))
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", mode)
    return repo, done, rows(repo, "uet_runs")[-1]


def scope_errors(repo: Path) -> list[dict[str, Any]]:
    return [e for e in rows(repo, "error_events") if e["error_type"] == "scope_violation"]


def test_a_write_four_levels_up_lands_nowhere(tmp_path: Path, mode: str) -> None:
    repo, done, record = run_one(tmp_path, mode, f"echo out > out.txt; echo x > {UP}/escaped.txt")
    assert done.code == 1
    assert record["status"] == "failed"
    if mode == "off":
        assert (
            record["reason"]
            == "step/0 (sh) changed files outside its worktree: escaped.txt (added to the working tree)"
        )
        assert record["sandbox"] == "none"
    else:
        assert record["reason"] == (
            f"step/0 (sh) the {mode} sandbox blocked a write: escaped.txt (in the repository, outside the worktree)"
        )
        assert record["sandbox"] == mode
        assert not (repo / "escaped.txt").exists()
    assert scope_errors(repo)[0]["message"] == record["reason"]
    assert "out.txt" not in tracked_and_untracked(repo)
    assert_every_record_validates(repo)


def test_appending_to_a_read_only_file_through_the_parent_folders(tmp_path: Path, mode: str) -> None:
    repo, done, record = run_one(
        tmp_path, mode, f"echo y >> {UP}/config.yaml", modify=["config.yaml"], read_only=["README.md"]
    )
    assert done.code == 1
    if mode == "off":
        assert record["reason"].endswith("config.yaml (changed in the working tree)")
    else:
        assert (repo / "config.yaml").read_text() == "x: 1\n"
        assert record["reason"].endswith("config.yaml (in the repository, outside the worktree)")


def test_a_read_only_path_inside_the_worktree_stays_read_only(tmp_path: Path) -> None:
    _mechanism("bubblewrap")  # Landlock cannot take back a write inside a folder it allows
    _repo, done, record = run_one(tmp_path, "bubblewrap", "echo y >> config.yaml", read_only=["config.yaml"])
    assert done.code == 1
    assert record["reason"] == "step/0 (sh) the bubblewrap sandbox blocked a write: config.yaml (read-only)"


def test_a_write_to_an_absolute_path_outside_the_repository_is_blocked(tmp_path: Path, confined: str) -> None:
    target = Path("/var/tmp") / f"uet-escape-{uuid.uuid4().hex}"
    try:
        _repo, done, record = run_one(tmp_path, confined, f"echo x > {target}")
        assert done.code == 1
        assert not target.exists()
        assert record["reason"] == f"step/0 (sh) the {confined} sandbox blocked a write: {target}"
    finally:
        target.unlink(missing_ok=True)


def test_the_git_hooks_and_config_of_the_repository_are_out_of_reach(tmp_path: Path, mode: str) -> None:
    marker = tmp_path / "fsmonitor-ran"
    run = (
        "common=$(git rev-parse --git-common-dir); "
        'printf "#!/bin/sh\\ntouch %s\\n" > "$common/hooks/post-checkout"; chmod +x "$common/hooks/post-checkout"; '
        f'git config --file "$common/config" core.fsmonitor "touch {marker}"; echo out > out.txt'
    ).replace("%s", str(marker))
    repo, done, record = run_one(tmp_path, mode, run)
    print("REASON", mode, record["reason"])
    assert done.code == 1
    if mode == "off":
        assert record["reason"] == (
            "step/0 (sh) changed files outside its worktree: .git/config (changed); .git/hooks/post-checkout (created)"
        )
    else:
        assert not (repo / ".git" / "hooks" / "post-checkout").exists()
        assert "fsmonitor" not in (repo / ".git" / "config").read_text()
        assert f"the {mode} sandbox blocked a write" in record["reason"]
    # Whatever was planted, the engine's own git commands never ran it (fsmonitor and hooks are off for them).
    assert not marker.exists()


def test_a_symlink_to_outside_the_repository_is_refused_and_never_applied(tmp_path: Path, mode: str) -> None:
    repo, done, record = run_one(tmp_path, mode, "ln -s /etc/passwd a.py", create=["a.py"])
    assert done.code == 1
    assert record["reason"] == (
        "file scope violated: a.py: added, but it is a symbolic link to the absolute path '/etc/passwd', "
        "outside the repository"
    )
    assert not os.path.lexists(repo / "a.py")
    assert rows(repo, "patch_ledger") == []


def test_a_symlink_climbing_out_of_the_repository_is_refused(tmp_path: Path, mode: str) -> None:
    repo, done, record = run_one(tmp_path, mode, "mkdir lib && ln -s ../../x lib/up.py", create=["lib/up.py"])
    assert done.code == 1
    assert record["reason"] == (
        "file scope violated: lib/up.py: added, but it is a symbolic link to '../../x', which leaves the repository"
    )
    assert not os.path.lexists(repo / "lib")


def test_a_nested_repository_is_refused_by_name(tmp_path: Path, mode: str) -> None:
    run = "mkdir sub && cd sub && git init -q && echo s > s && git add s && git -c user.name=t -c user.email=t@t "
    run += "commit -qm s"
    repo, done, record = run_one(tmp_path, mode, run, create=["sub/**"])
    assert done.code == 1
    assert record["reason"].startswith("file scope violated: sub/.git/")
    assert "inside a git directory (.git), which no patch may touch" in record["reason"]
    assert not (repo / "sub").exists()


def test_writes_under_the_engine_folders_and_a_nested_git_are_named_not_dropped(tmp_path: Path, mode: str) -> None:
    run = "echo out > out.txt; mkdir -p .runs docs/.git; echo r > .runs/x; echo c > docs/.git/config"
    _repo, done, record = run_one(tmp_path, mode, run, create=["out.txt", "docs/**"])
    assert done.code == 1
    assert record["reason"] == (
        "file scope violated: .runs/x: written, but it is inside .runs/, the engine's own records; "
        "docs/.git/config: written, but it is inside a git directory (.git), which no patch may touch"
    )


def test_a_change_hidden_from_git_by_an_index_flag_fails_the_workstream(tmp_path: Path, mode: str) -> None:
    """assume-unchanged (or skip-worktree) would let a step change a file, pass its checks with the change,
    and land a patch without it: the flag is named and the workstream fails, or the sandbox refuses the write
    to the index (git inside a confined step is read-only)."""
    run = "echo hacked >> config.yaml; git update-index --assume-unchanged config.yaml; echo out > out.txt"
    repo, done, record = run_one(tmp_path, mode, run)
    assert done.code == 1
    assert record["reason"] == (
        "file scope violated: config.yaml: marked assume-unchanged or skip-worktree in the worktree's index "
        "(git update-index), which would hide its changes from the patch"
        if mode == "off"
        else f"step/0 (sh) the {mode} sandbox blocked a write: .git/worktrees/slot-0/index.lock (in the repository, "
        "outside the worktree)"
    )
    assert (repo / "config.yaml").read_text() == "x: 1\n"
    assert not (repo / "out.txt").exists()


def _sleepers(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if tag in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_a_setsid_job_ends_with_its_step(tmp_path: Path, confined: str) -> None:
    tag = f"{int(time.time() * 1000) % 100000}.{os.getpid() % 1000}"
    run = f"(setsid sh -c 'sleep {tag}; echo late > {UP}/late.txt' &); setsid sleep {tag} & echo out > out.txt"
    repo, done, record = run_one(tmp_path, confined, run)
    assert (done.code, record["status"]) == (0, "succeeded"), done.stderr
    deadline = time.monotonic() + 10
    while _sleepers(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sleepers(tag) == []
    assert not (repo / "late.txt").exists()


def test_a_step_that_succeeds_while_its_write_was_blocked_still_fails(tmp_path: Path, confined: str) -> None:
    _repo, done, record = run_one(tmp_path, confined, f"echo x > {UP}/escaped.txt || true; echo out > out.txt")
    assert done.code == 1
    assert record["reason"].startswith(f"step/0 (sh) the {confined} sandbox blocked a write: escaped.txt")


def connect(port: int) -> str:
    """Python code connecting to 127.0.0.1:PORT, exiting 1 with the reason (no traceback) when it cannot."""
    return (
        "import socket, sys\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
        "except OSError as exc:\n"
        "    sys.exit(f'no connection: {exc}')\n"
    )


class _Listener:
    """A TCP server on 127.0.0.1 that counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


@pytest.mark.parametrize("no_network", [False, True], ids=["network", "no-network"])
def test_the_network_stays_on_unless_taken_away(tmp_path: Path, confined: str, no_network: bool) -> None:
    listener = _Listener()
    repo = make_repo(tmp_path / "repo")
    code = connect(listener.port)
    write(tmp_path / "specs", phase("PH-A", [], [step(code, tool="python")], create=["x"]))
    args = ["--no-network"] if no_network else []
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", confined, *args)
    record = rows(repo, "uet_runs")[0]
    if no_network:
        assert (done.code, record["network"], listener.accepted) == (1, False, 0)
    else:
        assert (done.code, record["network"], listener.accepted) == (0, True, 1), done.stderr
    listener.sock.close()


def test_a_phase_can_ask_for_no_network_itself(tmp_path: Path, confined: str) -> None:
    listener = _Listener()
    repo = make_repo(tmp_path / "repo")
    code = connect(listener.port)
    write(tmp_path / "specs", phase("PH-A", [], [step(code, tool="python")], create=["x"]) | {"no_network": True})
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", confined)
    assert (done.code, rows(repo, "uet_runs")[0]["network"], listener.accepted) == (1, False, 0)
    listener.sock.close()


def test_required_runs_with_the_first_mechanism_that_works(tmp_path: Path) -> None:
    first = next((name for name, why in sandbox.problems().items() if why is None), None)
    repo = make_repo(tmp_path / "repo")
    write(tmp_path / "specs", phase("PH-A", [], [step("echo a > a")], create=["a"]))
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "required")
    if first is None:
        assert done.code == 2
        assert done.stderr.startswith("uet run: --sandbox required, but no sandbox works here (")
        assert not (repo / ".runs").exists()
    else:
        assert done.code == 0, done.stderr
        assert rows(repo, "uet_runs")[0]["sandbox"] == first


def test_the_repo_config_sets_the_sandbox_and_the_command_line_wins(tmp_path: Path, confined: str) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "uet.config.yaml").write_text(f"sandbox: {confined}\n")
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a")], create=["a"]),
        phase("PH-B", [], [step("echo b > b")], create=["b"]),
    )
    assert uet(repo, "run", str(tmp_path / "specs"), "--ws-id", "ws-ph-a").code == 0
    assert uet(repo, "run", str(tmp_path / "specs"), "--ws-id", "ws-ph-b", "--sandbox", "off").code == 0
    assert [r["sandbox"] for r in rows(repo, "uet_runs")] == [confined, "none"]


def test_the_repo_config_can_take_the_network_away(tmp_path: Path, confined: str) -> None:
    listener = _Listener()
    repo = make_repo(tmp_path / "repo")
    (repo / "uet.config.yaml").write_text("no_network: true\n")
    code = connect(listener.port)
    write(tmp_path / "specs", phase("PH-A", [], [step(code, tool="python")], create=["x"]))
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", confined)
    assert (done.code, rows(repo, "uet_runs")[0]["network"], listener.accepted) == (1, False, 0)
    listener.sock.close()


def test_a_bad_sandbox_in_the_repo_config_is_a_located_problem_and_exit_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "uet.config.yaml").write_text("sandbox: maybe\n")
    write(tmp_path / "specs", phase("PH-A", [], [step("echo a > a")], create=["a"]))
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 2
    assert done.stderr.splitlines()[0].startswith(f'{repo / "uet.config.yaml"}:1:10: $.sandbox: "maybe" is not one of:')
