"""The Dockerfile, read as Docker would (no Docker engine here): two stages, a non-root numeric user, a
health check, pinned bases, nothing fetched from the network, every COPY source in the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_problems(text: str) -> list[str]:
    """What is wrong with a Dockerfile by the house rules (empty when nothing)."""
    found = []
    steps = instructions(text)
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    if len(stages) < 2:
        found.append("not multi-stage")
    for _, args in (s for s in steps if s[0] == "FROM"):
        image = args.split()[0]
        tag = image.partition(":")[2]
        if not tag or tag == "latest" or not re.search(r"\d+\.\d+\.\d+", tag):
            found.append(f"base image not pinned to a patch release: {image}")
    final = steps[stages[-1] :] if stages else steps
    users = [args for word, args in final if word == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        found.append("the final stage does not run as a numeric non-root USER")
    elif users[-1].split(":")[0] == "0":
        found.append("the final stage runs as root")
    checks = [args for word, args in final if word == "HEALTHCHECK"]
    if not checks or "/healthz" not in checks[-1] or "SAMBANG_PORT" not in checks[-1]:
        found.append("no HEALTHCHECK on the service's /healthz")
    for word, args in steps:
        if word == "ADD" and re.search(r"https?://", args):
            found.append(f"ADD from the network: {args}")
        if word in ("COPY", "ADD") and "--from=" not in args:
            *sources, _ = [a for a in shlex.split(args) if not a.startswith("--")]
            found += [f"COPY source missing: {s}" for s in sources if not (ROOT / s).exists()]
    for word, args in final:
        if word == "RUN" and re.search(r"\b(pip|apt-get|apk|gcc|make)\b", args):
            found.append(f"the final stage installs or builds: {args}")
    return found


def test_the_dockerfile_is_multi_stage_non_root_health_checked_and_pinned() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert dockerfile_problems(text) == []
    final = instructions(text)[[w for w, _ in instructions(text)].index("FROM", 1) :]
    copied = {args.split()[-1] for word, args in final if word == "COPY"}
    assert copied == {"/opt/venv", "libs", "services", "clients"}


def test_the_checker_catches_root_no_health_check_unpinned_bases_and_missing_sources() -> None:
    good = (ROOT / "deploy/Dockerfile").read_text()
    assert dockerfile_problems(good.replace("USER 10001:10001", "USER root"))
    assert dockerfile_problems(good.replace("USER 10001:10001", "USER 0"))
    assert dockerfile_problems(good.replace("USER 10001:10001", ""))
    assert dockerfile_problems(re.sub(r"^HEALTHCHECK .*$", "", good, flags=re.M))
    assert dockerfile_problems(good.replace("python:3.11.13-slim-bookworm", "python:3.11-slim"))
    assert dockerfile_problems(good.replace("COPY clients clients", "COPY clientz clients"))
    assert dockerfile_problems(good + "ADD https://example.com/x.tar.gz /x\n")
    assert dockerfile_problems(good + "RUN pip install requests\n")
    single = re.sub(r"(?s)^.*?(FROM python[^\n]*\n)(?=(?:(?!FROM).)*$)", r"\1", good)
    assert dockerfile_problems(single)


def test_the_build_context_leaves_out_the_secrets_and_the_venv() -> None:
    ignored = (ROOT / "deploy/Dockerfile.dockerignore").read_text().splitlines()
    assert {"deploy/.env", "deploy/secrets", "deploy/tls", "**/.venv"} <= set(ignored)
