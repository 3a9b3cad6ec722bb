"""A saved notice as a git commit, when the content directory is a git working tree of its own.

In production the content directory lives outside the release, on storage every web process sees, and may be a
git repository (`git init`): each save from the console is then a commit whose author is the editor. A content
directory inside the application's own source tree (a development checkout) is never committed to. A failure is
logged, never raised: the file is saved either way.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
TIMEOUT = 10  # seconds for each git command
CODE_ROOT = Path(__file__).resolve().parent.parent
COMMITTER = ["-c", "user.name=消费维权平台", "-c", "user.email=console@localhost"]


def work_tree(directory: Path) -> Path | None:
    """The top of the git working tree holding the directory, unless it is the application's source tree."""
    try:
        found = _git(directory, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode != 0:
        return None
    top = Path(found.stdout.strip()).resolve()
    return None if top == CODE_ROOT else top


def commit(directory: Path, paths: list[Path], author: str, message: str) -> bool:
    """Commit the files (paths under the directory) with the given author ("Name <email>"); False if not done."""
    top = work_tree(directory)
    if top is None:
        return False
    names = [str(p.resolve().relative_to(top)) for p in paths]
    try:
        added = _git(top, "add", "--", *names)
        if added.returncode != 0:
            log.warning("git add failed in %s: %s", top, added.stderr.strip())
            return False
        done = _git(top, *COMMITTER, "commit", "--quiet", "--author", author, "-m", message, "--", *names)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("git commit of %s failed: %s", names, exc)
        return False
    if done.returncode != 0:
        log.warning("git commit of %s failed: %s", names, (done.stderr or done.stdout).strip())
        return False
    return True


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
