"""Helpers of test_container.py: the Dockerfile and requirements.txt read as Docker and pip read them,
and a user other than root to run the Dockerfile's command as."""

import os
from pathlib import Path

STEP = Path(__file__).parents[1]

# `nobody` when the tests run as root (CI, containers), as the image runs as a user of its own; the
# tests' own user otherwise, who is not root either.
NOBODY = 65534
NON_ROOT = NOBODY if os.getuid() == 0 else os.getuid()


def as_non_root(command: list[str]) -> list[str]:
    """`command`, to be run as NON_ROOT: through setpriv, which switches user and then execs it.

    Not `Popen(user=...)`: the tests' interpreter may be one that `nobody` cannot even start. On the
    machine this was written on it is pyenv's, under /root, a folder only root may enter. So `nobody`
    is given CAP_DAC_READ_SEARCH: leave to read files and folders whatever their permissions, and to
    write nothing that root owns. (The image has no such problem: its Python is in /usr/local.)"""
    if NON_ROOT == os.getuid():
        return command
    read_anything = "+dac_read_search"
    return [
        "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
        f"--inh-caps={read_anything}", f"--ambient-caps={read_anything}", *command,
    ]  # fmt: skip


def instructions(dockerfile: Path = STEP / "Dockerfile") -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (keyword, arguments), as Docker reads them: comment lines dropped,
    lines ending in a backslash joined to the next."""
    found: list[tuple[str, str]] = []
    pieces: list[str] = []  # the lines of the instruction being read
    for line in dockerfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pieces.append(line.strip().removesuffix("\\").strip())
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = " ".join(pieces).partition(" ")
            found.append((keyword.upper(), arguments.strip()))
            pieces = []
    return found


def stages() -> list[list[tuple[str, str]]]:
    """The instructions, one list per stage, each starting with its FROM."""
    split: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            split.append([])
        split[-1].append(instruction)
    return split


def requirement_lines(requirements: Path = STEP / "requirements.txt") -> list[str]:
    """requirements.txt's requirements, each on one line with its hashes; its comments left out."""
    joined = requirements.read_text().replace("\\\n", " ")
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
