"""Photo checks and fingerprint checks per second: the quality pipeline alone, and over HTTP.

Three rates each for photos and fingerprints, in the same run on the same images (the passing
portrait crop of skimage's astronaut(), 390 x 500 JPEG; a 320 x 400 synthetic fingerprint PNG):

- raw: the floor of OpenCV itself, on one thread of the bench process: for photos a bare
  ``cv2.imdecode`` + ``cv2.CascadeClassifier.detectMultiScale`` (OpenCV's default parameters, on
  the decoded image); for fingerprints a bare ``cv2.imdecode`` of the PNG;
- pipeline: the service's check without I/O, same thread: magic bytes, header walk, pixel limit,
  decode, (faces at working size | ridge coherence), light/contrast/focus, re-encode, verdict;
- http: ``PUT /v1/captures/{receipt}/photo`` and ``…/fingerprints/1`` answered 200, the capture
  service in its own uvicorn process on PostgreSQL and RabbitMQ (encryption, idempotency look-up,
  audit row, commit included), ``--concurrency`` requests in flight, one receipt per photo.

The last line is one JSON object.

    python bench/capture.py [--uploads 200] [--concurrency 4] [--seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness as h
import aio_pika
import cv2
import httpx
import numpy as np
from _harness import pct
from sambang_capture.adapters.imaging.analysis import (
    HAAR_MIN_NEIGHBORS,
    HAAR_SCALE_FACTOR,
    MIN_FACE_FRACTION,
    WORK_HEIGHT,
    analyse_fingerprint,
    analyse_photo,
)
from sambang_capture.adapters.imaging.formats import check_pixels, checked_format, read_header
from sambang_capture.app import create_app
from sambang_capture.domain.quality import FingerprintRules, PhotoRules, judge_fingerprint, judge_photo
from sambang_contracts import ApplicationRegistered, EventData, dump_event, new_event
from sambang_contracts.examples import example_data
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.db import drop_database
from sambang_runtime.settings import RuntimeSettings

# Capture's own test images, as the end-to-end journeys upload them (tests/e2e/steps.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from steps import images

OFFICE = "BLT"


def rate(work: Callable[[], object], seconds: float) -> dict[str, Any]:
    """Calls per second of ``work`` on this thread, with per-call latency percentiles."""
    work()  # warm: cascade loaded, caches filled
    took: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        work()
        took.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    return {
        "calls": len(took),
        "per_second": round(len(took) / elapsed, 1),
        "p50_ms": pct(took, 50),
        "p99_ms": pct(took, 99),
    }


def in_process(seconds: float) -> dict[str, Any]:
    """Raw OpenCV and the service's pipeline, one thread, the same images."""
    img = images()
    photo, finger = img.portrait_jpeg(), img.fingerprint_png(1)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # type: ignore[attr-defined]
    photo_buf, finger_buf = np.frombuffer(photo, np.uint8), np.frombuffer(finger, np.uint8)

    def raw_photo() -> object:
        decoded = cv2.imdecode(photo_buf, cv2.IMREAD_COLOR)
        assert decoded is not None
        return cascade.detectMultiScale(cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY))

    def raw_photo_tuned() -> object:
        # The same detection the service runs (working height, equalised, its parameters), nothing else.
        decoded = cv2.imdecode(photo_buf, cv2.IMREAD_COLOR)
        assert decoded is not None
        gray = cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY)
        work = cv2.resize(gray, (round(gray.shape[1] * WORK_HEIGHT / gray.shape[0]), WORK_HEIGHT))
        side = int(MIN_FACE_FRACTION * WORK_HEIGHT)
        return cascade.detectMultiScale(
            cv2.equalizeHist(work), scaleFactor=HAAR_SCALE_FACTOR, minNeighbors=HAAR_MIN_NEIGHBORS, minSize=(side, side)
        )

    def pipeline_photo() -> object:
        header = read_header(photo, checked_format("image/jpeg", photo))
        check_pixels(header, max_pixels=30_000_000, max_side=12_000)
        verdict = judge_photo(analyse_photo(photo, header, jpeg_quality=95).measures, PhotoRules())
        assert verdict.passed
        return verdict

    def raw_finger() -> object:
        return cv2.imdecode(finger_buf, cv2.IMREAD_GRAYSCALE)

    def pipeline_finger() -> object:
        header = read_header(finger, checked_format("image/png", finger))
        check_pixels(header, max_pixels=30_000_000, max_side=12_000)
        verdict = judge_fingerprint(analyse_fingerprint(finger, header).measures, FingerprintRules())
        assert verdict.passed
        return verdict

    return {
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "raw_photo": {
            "what": "cv2.imdecode + cvtColor + detectMultiScale (OpenCV defaults), full image",
            **rate(raw_photo, seconds),
        },
        "raw_photo_tuned": {
            "what": "cv2.imdecode + cvtColor + resize + equalizeHist + detectMultiScale (the service's parameters)",
            **rate(raw_photo_tuned, seconds),
        },
        "pipeline_photo": rate(pipeline_photo, seconds),
        "raw_fingerprint": {"what": "cv2.imdecode (grayscale)", **rate(raw_finger, seconds)},
        "pipeline_fingerprint": rate(pipeline_finger, seconds),
    }


# -- over HTTP -----------------------------------------------------------------------------------------------


def serve() -> None:
    """The service process: the capture app under uvicorn on a loopback port."""
    args = h.server_args()
    h.serve(create_app(h.bench_settings("capture", args.serve, args.run)), args.port)


def registration(receipt: str) -> EventData:
    """queue.application.registered of an elderly applicant: the contracts' example, with its own
    receipt number and NIK."""
    example = example_data("queue.application.registered")
    assert isinstance(example, ApplicationRegistered)
    applicant = example.applicant.model_copy(update={"nik": "35" + "".join(random.choices(string.digits, k=14))})
    return example.model_copy(update={"receipt_number": receipt, "applicant": applicant})


async def register(settings: RuntimeSettings, n: int) -> list[str]:
    """N applications, announced on the bus as queue would (queue.application.registered)."""
    today = dt.date(2026, 12, 1)
    receipts = list({generate_receipt_number(OFFICE, today) for _ in range(n)})
    conn = await aio_pika.connect_robust(settings.amqp_url)
    try:
        channel = await conn.channel()
        exchange = await channel.get_exchange(settings.exchange)
        for receipt in receipts:
            ev = new_event(registration(receipt), source="sambang/queue")
            await exchange.publish(
                aio_pika.Message(dump_event(ev), content_type="application/cloudevents+json", message_id=ev.id),
                routing_key=ev.type,
            )
    finally:
        await conn.close()
    return receipts


async def put_all(
    client: httpx.AsyncClient,
    paths: list[str],
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    concurrency: int,
) -> dict[str, Any]:
    """PUT ``body`` to every path, ``concurrency`` at once; rate of 200s and latencies."""
    todo = list(paths)
    took: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while todo:
            path = todo.pop()
            t = time.perf_counter()
            r = await client.put(path, content=body, headers={**headers, "Content-Type": content_type})
            took.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(took),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "per_second": round(statuses.get(200, 0) / elapsed, 1),
        "p50_ms": pct(took, 50),
        "p99_ms": pct(took, 99),
    }


async def over_http(n: int, concurrency: int) -> dict[str, Any]:
    """Start the service, register N applications, PUT N photos then N fingerprints."""
    run_id = h.run_id()
    url = h.database_url(f"sambang_bench_capture_{run_id}")
    settings = h.bench_settings("capture", url, run_id)
    port = h.free_port()
    proc = await h.start(__file__, "--serve", url, "--run", run_id, "--port", str(port), ready=h.base_url(port))
    headers = {
        "Authorization": "Bearer "
        + issue_dev_token(DEV_HS256_SECRET, sub="bench-officer", office=OFFICE, roles=["sambang_officer"])
    }
    try:
        async with httpx.AsyncClient(base_url=h.base_url(port), timeout=120) as client:
            receipts = await register(settings, n)
            for _ in range(1200):
                answers = [(await client.get(f"/v1/captures/{r}", headers=headers)).status_code for r in receipts[-3:]]
                if answers == [200, 200, 200]:
                    break
                await asyncio.sleep(0.1)
            photos = await put_all(
                client,
                [f"/v1/captures/{r}/photo" for r in receipts],
                images().portrait_jpeg(),
                "image/jpeg",
                headers,
                concurrency,
            )
            fingers = await put_all(
                client,
                [f"/v1/captures/{r}/fingerprints/1" for r in receipts],
                images().fingerprint_png(1),
                "image/png",
                headers,
                concurrency,
            )
    finally:
        await h.stop([proc], patience=15)
        await h.remove_broker_objects(settings)
        await drop_database(url)
    return {"applications": len(receipts), "concurrency": concurrency, "photo": photos, "fingerprint": fingers}


async def main() -> None:
    """Run every measurement and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uploads", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    local = await asyncio.to_thread(in_process, args.seconds)
    h.phase("in_process", local)
    http = await over_http(args.uploads, args.concurrency)
    h.phase("http", http)
    h.report(
        {
            "bench": "capture",
            "photo_checks_per_second": {
                "raw": local["raw_photo"]["per_second"],
                "raw_tuned": local["raw_photo_tuned"]["per_second"],
                "pipeline": local["pipeline_photo"]["per_second"],
                "http": http["photo"]["per_second"],
            },
            "fingerprint_checks_per_second": {
                "raw": local["raw_fingerprint"]["per_second"],
                "pipeline": local["pipeline_fingerprint"]["per_second"],
                "http": http["fingerprint"]["per_second"],
            },
            "ratio_pipeline_to_raw": {
                "photo": round(local["pipeline_photo"]["per_second"] / local["raw_photo"]["per_second"], 3),
                "photo_tuned": round(local["pipeline_photo"]["per_second"] / local["raw_photo_tuned"]["per_second"], 3),
                "fingerprint": round(
                    local["pipeline_fingerprint"]["per_second"] / local["raw_fingerprint"]["per_second"], 3
                ),
            },
            "in_process": local,
            "http": http,
        }
    )


if __name__ == "__main__":
    h.main(main, serve=serve)
