"""Pooled randomness: fresh bytes every time, across blocks, threads and forks."""

from __future__ import annotations

import os
import threading
import uuid

from sambang_runtime import entropy


def test_bytes_never_repeat_across_block_boundaries() -> None:
    seen = {entropy.token_bytes(12) for _ in range(2000)}  # about six blocks of 4 KiB
    assert len(seen) == 2000
    assert all(len(x) == 12 for x in seen)
    assert len(entropy.token_bytes(10_000)) == 10_000  # larger than a block


def test_threads_draw_different_bytes() -> None:
    got: list[bytes] = []

    def draw() -> None:
        got.append(entropy.token_bytes(32))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got.append(entropy.token_bytes(32))
    assert len(set(got)) == 9


def test_a_forked_child_does_not_repeat_its_parents_next_bytes() -> None:
    entropy.token_bytes(1)  # the parent has a block in hand
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send what it draws, then leave at once
        os.write(write, entropy.token_bytes(16))
        os._exit(0)
    os.close(write)
    child = os.read(read, 16)
    os.waitpid(pid, 0)
    os.close(read)
    assert child != entropy.token_bytes(16)


def test_uuid4_is_version_4_and_pooled_random_stays_in_range() -> None:
    u = entropy.uuid4()
    assert isinstance(u, uuid.UUID) and u.version == 4 and u.variant == uuid.RFC_4122
    draws = [entropy.SYSTEM_RANDOM.randrange(1_000_000) for _ in range(5000)]
    assert all(0 <= d < 1_000_000 for d in draws)
    assert len(set(draws)) > 4900  # random, not a counter stuck on one value
    assert max(draws) > 900_000 and min(draws) < 100_000
    floats = [entropy.SYSTEM_RANDOM.random() for _ in range(1000)]
    assert all(0.0 <= f < 1.0 for f in floats)
