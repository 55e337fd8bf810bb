"""Where the time goes in a py-spy flame graph: the top functions of each process, as Markdown.

Not a benchmark (`make bench` does not run it): `make profile` records each bench under
``py-spy record --subprocesses`` into ``docs/profiles/<bench>.svg``, then this reads every frame of the
SVG (its title, depth and sample span ``fg:x``/``fg:w``), rebuilds the call tree and prints, for each
process that has at least ``--min-share`` of the samples, the functions with the most samples of their
own (self, anywhere: where the CPU burns) and the project's functions with the most samples under
them (inclusive, counted once per stack: which of ours the time is spent under).

    python bench/flametop.py docs/profiles/booking.svg [--top 5] [--min-share 0.05]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(
    r'<g><title>(?P<title>.*?)</title><rect [^>]*?y="(?P<y>[\d.]+)"[^>]*?fg:x="(?P<x>\d+)" fg:w="(?P<w>\d+)"'
)
TITLE = re.compile(r"^(?P<name>.*?) \((?P<samples>[\d,]+) samples?, [\d.]+%\)$")
LINE = re.compile(r":\d+\)$")


@dataclass
class Frame:
    """One box of the flame graph: a function at one position of one stack."""

    name: str
    depth: int
    x: int
    w: int
    children: list[Frame] = field(default_factory=list)

    @property
    def self_samples(self) -> int:
        return self.w - sum(c.w for c in self.children)


def frames(svg: str) -> Frame:
    """The root (``all``) of the call tree of a py-spy SVG."""
    found = []
    for m in FRAME.finditer(svg):
        t = TITLE.match(html.unescape(m["title"]))
        name = t["name"] if t else html.unescape(m["title"])
        found.append((float(m["y"]), name, int(m["x"]), int(m["w"])))
    if not found:
        raise ValueError("no frames: not a py-spy flame graph")
    levels = sorted({y for y, *_ in found})
    # py-spy draws the root (``all``) at one edge; depth grows away from it.
    root_y = next(y for y, name, *_ in found if name == "all")
    order = levels if root_y == levels[0] else list(reversed(levels))
    depth_of = {y: i for i, y in enumerate(order)}
    by_depth: dict[int, list[Frame]] = {}
    for y, name, x, w in found:
        by_depth.setdefault(depth_of[y], []).append(Frame(name, depth_of[y], x, w))
    for d in sorted(by_depth)[1:]:
        parents = sorted(by_depth[d - 1], key=lambda f: f.x)
        for f in by_depth[d]:
            parent = next(p for p in parents if p.x <= f.x < p.x + p.w)
            parent.children.append(f)
    [root] = by_depth[0]
    return root


def key(name: str) -> str:
    """A function without its line number (all its lines count together)."""
    return LINE.sub(")", name)


def is_process(frame: Frame) -> bool:
    """A process of ``py-spy record --subprocesses`` (a child process hangs under its parent's frame)."""
    return frame.name.startswith("process ")


def processes(frame: Frame) -> list[Frame]:
    """Every process frame under ``frame``, nested ones included."""
    found = [frame] if is_process(frame) else []
    for c in frame.children:
        found += processes(c)
    return found


def own_samples(process: Frame) -> int:
    """A process's samples without those of the processes it started."""
    return process.w - sum(p.w for c in process.children for p in processes(c) if p is not process)


def walk(frame: Frame, seen: frozenset[str], own: Counter[str], under: Counter[str]) -> None:
    k = key(frame.name)
    own[k] += frame.self_samples - sum(c.w for c in frame.children if is_process(c))
    if k not in seen:  # recursion and re-entry count once per stack
        under[k] += frame.w - sum(p.w for c in frame.children for p in processes(c))
    for c in frame.children:
        if not is_process(c):  # a child process is reported on its own
            walk(c, seen | {k}, own, under)


def report(path: Path, top: int, min_share: float) -> str:
    root = frames(path.read_text())
    out = [f"### {path.stem} ({root.w} samples)", ""]
    for process in sorted(processes(root), key=lambda p: -own_samples(p)):
        samples = own_samples(process)
        share = samples / root.w
        if share < min_share:
            continue
        own: Counter[str] = Counter()
        under: Counter[str] = Counter()
        for c in process.children:
            if not is_process(c):
                walk(c, frozenset(), own, under)
        name = re.sub(r" --serve \S+| --run \S+| --port \S+|/\S*/(?=bench/|\.venv/)", " ", process.name)
        out += [f"**{' '.join(name.split())}**: {samples} samples, {share:.0%} of the run", ""]
        out += ["| self | function | | inclusive | function |", "|---|---|---|---|---|"]
        selfs = own.most_common(top)
        # Inclusive: the project's own functions (``sambang_*``): which of ours the time is spent under
        # (the entry frames of the interpreter, uvicorn and the loop are under everything).
        inclusive = [(k, n) for k, n in under.most_common() if "sambang_" in k][:top]
        for i in range(top):
            left = f"{selfs[i][1] / samples:.1%} | `{selfs[i][0]}`" if i < len(selfs) else " | "
            right = f"{inclusive[i][1] / samples:.1%} | `{inclusive[i][0]}`" if i < len(inclusive) else " | "
            out.append(f"| {left} | | {right} |")
        out.append("")
    return "\n".join(out)


def scrub(svg: str, root: str) -> str:
    """The SVG without this machine's paths: py-spy names each process by its command line, which holds
    the absolute path of the checkout (the repository keeps no machine paths). Labels that show a cut
    absolute path are blanked; their titles keep the full, relative name."""
    svg = svg.replace(root + "/", "").replace(root, ".")
    head = "/" + root.strip("/").split("/")[0]
    return re.sub(r"(<text[^>]*>)([^<]*)(</text>)", lambda m: m[1] + ("" if head in m[2] else m[2]) + m[3], svg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("svg", nargs="+", type=Path)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--min-share", type=float, default=0.05)
    ap.add_argument("--scrub", action="store_true", help="rewrite each SVG without the checkout's absolute path")
    args = ap.parse_args()
    for p in args.svg:
        if args.scrub:
            p.write_text(scrub(p.read_text(), str(Path.cwd().resolve())))
            continue
        print(report(p, args.top, args.min_share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
