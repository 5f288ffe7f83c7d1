"""Choosing a sandbox, and each mechanism confining one real command in a real git worktree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import make_repo
from uet_contracts import ExecutionRequest, FileScope
from uet_engine.errors import RunRefused
from uet_engine.execution import isolation, sandbox, slots
from uet_engine.execution.process import execute
from uet_engine.execution.sandbox import Confinement, Sandbox, choose, seatbelt_profile

NONE_WORKS = {
    "bubblewrap": lambda: "bubblewrap is not installed",
    "landlock": lambda: "the kernel offers no Landlock",
    "seatbelt": lambda: "Seatbelt is macOS only",
}


def test_off_never_confines() -> None:
    assert choose("off") == Sandbox("none", True, "--sandbox off")
    assert choose("off").confine(Path("/w"), Path("/r")) is None


def test_auto_without_any_mechanism_runs_unconfined_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_PROBES", NONE_WORKS)
    box = choose("auto", network=False)
    assert (box.mechanism, box.network) == ("none", False)
    assert box.why_none == "bubblewrap is not installed; the kernel offers no Landlock; Seatbelt is macOS only"
    assert not box.can_remove_network()


def test_required_and_a_named_mechanism_refuse_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_PROBES", NONE_WORKS)
    with pytest.raises(RunRefused, match=r"^--sandbox required, but no sandbox works here \(bubblewrap is not"):
        choose("required")
    with pytest.raises(RunRefused, match=r"^--sandbox landlock: the kernel offers no Landlock; nothing was run$"):
        choose("landlock")
    with pytest.raises(RunRefused, match="unknown sandbox mode 'maybe'"):
        choose("maybe")  # type: ignore[arg-type]


def test_auto_takes_the_first_that_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_PROBES", {**NONE_WORKS, "landlock": lambda: None})
    assert choose("auto").mechanism == "landlock"
    assert choose("required").mechanism == "landlock"


def test_the_seatbelt_profile_allows_writes_only_beneath_the_worktree_and_its_temporary_folder(tmp_path: Path) -> None:
    confinement = Confinement("seatbelt", tmp_path / "wt", tmp_path, ("config.yaml",), network=False)
    try:
        profile = seatbelt_profile(confinement)
    finally:
        confinement.close()
    lines = profile.splitlines()
    assert lines[:3] == ["(version 1)", "(allow default)", "(deny file-write*)"]
    assert f'  (subpath "{tmp_path / "wt"}")' in lines
    assert f'(deny file-write* (subpath "{tmp_path / "wt" / "config.yaml"}"))' in lines
    assert f'(deny file-write* (subpath "{tmp_path / "wt" / ".git"}"))' in lines
    assert "(deny network*)" in lines


def _request(run: str) -> ExecutionRequest:
    return ExecutionRequest(
        operation_kind="EXEC-TEST",
        tool="sh",
        run=run,
        file_scope=FileScope(create=[], modify=[], read_only=[]),
        tools_used=["sh"],
        context={},
    )


@pytest.fixture(params=["bubblewrap", "landlock"])
def mechanism(request: pytest.FixtureRequest) -> str:
    why = sandbox.problems()[request.param]
    if why is not None:
        pytest.skip(
            f"{request.param} is not available on this machine ({why}): "
            "install bubblewrap, or use a kernel with Landlock"
        )
    return str(request.param)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="bubblewrap and Landlock are Linux's: run these tests on Linux"
)
def test_a_confined_command_writes_its_worktree_and_its_temporary_folder_only(tmp_path: Path, mechanism: str) -> None:
    repo = make_repo(tmp_path / "repo")
    slot = isolation.slot_path(repo, 0)
    slots.prepare(repo, slot, isolation.head_commit(repo))
    confinement = choose(mechanism).confine(slot, repo)  # type: ignore[arg-type]
    assert confinement is not None
    outside = tmp_path / "outside.txt"
    run = (
        'echo in > inside.txt && echo t > "$TMPDIR/t" && cat "$TMPDIR/t"; '
        f"echo x > {outside}; echo y > {repo}/README.md; echo z > ../sibling.txt; git status --short; true"
    )
    try:
        result = execute(_request(run), slot, confinement=confinement)
        tmpdir = confinement.tmpdir
    finally:
        confinement.close()
    assert result.success, result.stderr
    assert (slot / "inside.txt").read_text() == "in\n"
    assert result.stdout.splitlines() == ["t", "?? inside.txt"]  # git works inside, read-only
    assert not outside.exists() and not (slot.parent / "sibling.txt").exists()
    assert (repo / "README.md").read_text() == "# demo\n"
    # bubblewrap's /tmp is a tmpfs of its own: the write to outside.txt (under /tmp here) lands there and vanishes.
    refusals = 2 if mechanism == "bubblewrap" else 3
    assert (
        result.stderr.count(": Read-only file system" if mechanism == "bubblewrap" else ": Permission denied")
        == refusals
    )
    if mechanism == "landlock":
        assert not tmpdir.exists()  # its private temporary folder went with the workstream
    isolation.remove_worktree(repo, slot)
