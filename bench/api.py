"""API benchmark: 20 concurrent SSE chat clients for 60 s against `retention serve`, plus cold start.

Measures time to the first SSE event and to the whole answer (p50/p95), errors, the server's RSS
before and after the run (sampled every 5 s), and the cold start of `retention serve` to /readyz.
Targets (issue 6): first event < 300 ms p95, whole answer < 1 s p95, zero errors, memory flat,
cold start < 10 s once bootstrapped.

Usage: python bench/api.py [--data-dir DIR] [--clients 20] [--seconds 60] [--rows 20000]
       python bench/api.py --url http://127.0.0.1:8000 --key rk_...   (a running server; no cold start/RSS)
By default the bench bootstraps DIR (bench/out/api-data), starts `retention serve` on a free
loopback port, creates and finally revokes its own agent key. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "续约到期前60天应该怎么联系客户？",
    "投诉多次的客户怎么挽留？",
    "沉默用户如何激活？",
    "How should I handle a customer with repeated complaints?",
    "What is the retention cost cap for a high-value subscriber?",
    "What are the early-warning signals of churn?",
    "What is the churn risk of {sid}?",
    "Show me subscriber {sid}",
]
MAX_REQUESTS_PER_CLIENT = 10_000  # a hard bound on top of the deadline


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process and its children (the uvicorn workers) in MB (Linux /proc), or None."""
    total, seen = 0, False
    for proc in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total, seen = total + int(line.split()[1]), True
        except OSError:
            continue
    return round(total / 1024, 1) if seen else None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_children(kid)]
    return found


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) in ms, or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))] * 1000, 1)


def prepare(data_dir: Path, rows: int) -> tuple[str, list[str], Any]:
    """Bootstrap the data dir (first time only) and create a bench key; returns (key, subscriber ids, records)."""
    from assistant.bootstrap import bootstrap
    from assistant.config import Settings
    from assistant.records import open_records
    from assistant.services import Services

    services = Services(Settings(data_dir=data_dir, _env_file=None))
    started = time.perf_counter()
    bootstrap(services, rows=rows)
    print(f"bootstrap: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    ids = services.store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].head(200).astype(str).tolist()
    records = open_records(services)
    return records.create_key("agent", name="bench").key, ids, records


def start_server(data_dir: Path, port: int, workers: int = 1) -> tuple[subprocess.Popen, float]:
    """Start `retention serve` and wait for /readyz; returns (process, seconds to ready)."""
    import httpx

    env = {**os.environ, "RETENTION_DATA_DIR": str(data_dir), "RETENTION_API_RATE_LIMIT_PER_MINUTE": "1000000",
           "RETENTION_LOG_LEVEL": "WARNING"}
    env.pop("RETENTION_LLM_BASE_URL", None)  # the target is the offline engine
    log = open(data_dir / "serve.log", "wb")
    started = time.perf_counter()
    script = Path(sys.executable).parent / "retention"
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "assistant.cli"]
    proc = subprocess.Popen([*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = started + 120
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"retention serve exited with {proc.returncode}; see {data_dir / 'serve.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("retention serve was not ready within 120 s")


async def one_chat(client: Any, url: str, key: str, question: str) -> tuple[float | None, float | None, str | None]:
    """One streamed chat: (seconds to first event, seconds to done, error or None)."""
    started = time.perf_counter()
    first = None
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    try:
        async with client.stream("POST", f"{url}/v1/chat", json={"message": question}, headers=headers) as resp:
            if resp.status_code != 200:
                return None, None, f"HTTP {resp.status_code}"
            async for line in resp.aiter_lines():
                if line.startswith("event:"):
                    first = first or time.perf_counter() - started
                    name = line.split(":", 1)[1].strip()
                    if name == "error":
                        return first, None, "error event"
                    if name == "done":
                        return first, time.perf_counter() - started, None
        return first, None, "stream ended without done"
    except Exception as exc:  # noqa: BLE001 - counted as an error
        return first, None, type(exc).__name__


async def load(url: str, key: str, ids: list[str], clients: int, seconds: float, pid: int | None) -> dict[str, Any]:
    """`clients` concurrent loops of streamed chats until the deadline; RSS sampled every 5 s."""
    import httpx

    firsts: list[float] = []
    wholes: list[float] = []
    errors: dict[str, int] = {}
    samples: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client_loop(n: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for i in range(MAX_REQUESTS_PER_CLIENT):
                if time.perf_counter() >= deadline:
                    return
                question = QUESTIONS[(n + i) % len(QUESTIONS)].format(sid=ids[(n * 7 + i) % len(ids)])
                first, whole, error = await one_chat(client, url, key, question)
                if error:
                    errors[error] = errors.get(error, 0) + 1
                else:
                    firsts.append(first or 0.0)
                    wholes.append(whole or 0.0)

    async def sampler() -> None:
        while pid is not None and time.perf_counter() < deadline:
            value = rss_mb(pid)
            if value is not None:
                samples.append(value)
            await asyncio.sleep(5)

    started = time.perf_counter()
    await asyncio.gather(sampler(), *(client_loop(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients, "seconds": round(elapsed, 1), "answers": len(wholes),
        "answers_per_s": round(len(wholes) / elapsed, 1), "errors": sum(errors.values()), "error_kinds": errors,
        "first_event_ms": {"p50": pct(firsts, 50), "p95": pct(firsts, 95), "max": pct(firsts, 100)},
        "whole_answer_ms": {"p50": pct(wholes, 50), "p95": pct(wholes, 95), "max": pct(wholes, 100)},
        "rss_samples_mb": samples,
    }


async def warm(url: str, key: str, ids: list[str]) -> None:
    """One pass over the questions, so caches are warm before RSS and latency are measured."""
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:
        for question in QUESTIONS:
            await one_chat(client, url, key, question.format(sid=ids[0]))


def main() -> None:
    """Run the benchmark and print one JSON report (also written to bench/out/api.json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out" / "api-data")
    parser.add_argument("--url", help="Benchmark a running server (loopback) instead of starting one.")
    parser.add_argument("--key", help="API key for --url.")
    parser.add_argument("--subscriber", action="append", default=[], help="Subscriber ids for --url questions.")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=20_000, help="Subscribers generated on first bootstrap.")
    parser.add_argument("--workers", type=int, default=1, help="Server processes (`retention serve --workers`).")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        raise SystemExit("--clients must be 1..200 and --seconds 1..600")
    report: dict[str, Any] = {}
    proc = records = None
    if args.url:
        if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
            raise SystemExit("--url must be a loopback address")
        url, key, ids, pid = args.url.rstrip("/"), args.key or "", args.subscriber or ["S000000001"], None
    else:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        key, ids, records = prepare(args.data_dir, args.rows)
        port = free_port()
        proc, cold = start_server(args.data_dir, port, args.workers)
        report["workers"] = args.workers
        url, pid = f"http://127.0.0.1:{port}", proc.pid
        report["cold_start_s"] = round(cold, 2)
    try:
        asyncio.run(warm(url, key, ids))
        report["rss_before_mb"] = rss_mb(pid) if pid else None
        report.update(asyncio.run(load(url, key, ids, args.clients, args.seconds, pid)))
        report["rss_after_mb"] = rss_mb(pid) if pid else None
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if records is not None:
            records.revoke(key.split("_")[1])
    fe, wa = report["first_event_ms"]["p95"], report["whole_answer_ms"]["p95"]
    before, after = report.get("rss_before_mb"), report.get("rss_after_mb")
    report["targets"] = {
        "first_event_p95_under_300ms": fe is not None and fe < 300,
        "whole_answer_p95_under_1s": wa is not None and wa < 1000,
        "zero_errors": report["errors"] == 0,
        "memory_flat_within_15pct": None if not (before and after) else after <= before * 1.15,
        "cold_start_under_10s": None if "cold_start_s" not in report else report["cold_start_s"] < 10,
    }
    out = ROOT / "bench" / "out" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
