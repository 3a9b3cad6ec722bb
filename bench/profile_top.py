"""The top of a py-spy profile: `python bench/profile_top.py profile.raw [N]` (py-spy record -f raw output).

Prints the functions with the most samples of their own (self) and with the most samples under them (inclusive),
as shares of all samples; the push fan-out benchmark (--profile) writes this beside the raw stacks.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def summarize(raw: Path, top: int = 25) -> str:
    """The self and inclusive tables of a collapsed-stacks file, as text."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in Path(raw).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames, count = stack.split(";"), int(n)
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            under[frame] += count
    lines = [f"{raw}: {total} samples", "", "self:"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * n / max(total, 1):5.1f}%  {f}" for f, n in under.most_common(top)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25), end="")
