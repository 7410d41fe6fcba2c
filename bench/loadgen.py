"""A load generator that is not the bottleneck: raw HTTP/1.1 over asyncio streams, keep-alive
connections spread over one or more targets, run in a process of its own.

It writes one prepared request per round trip and reads the response by Content-Length: no
client library, no parsing beyond the status line and headers. Run as a script it prints one JSON
line (requests, seconds, rps, p50/p99 ms, statuses); ``run_load`` starts it from a benchmark.

    python bench/loadgen.py --target http://127.0.0.1:8000/path [--target ...] --seconds 5
        --connections 64 [--method POST --body-file body.bin --header 'content-type: ...']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def _request(target: str, method: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(target)
    lines = [f"{method} {parts.path or '/'} HTTP/1.1", f"host: {parts.netloc}", *headers]
    if method == "POST":
        lines.append(f"content-length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return parts.hostname or "127.0.0.1", parts.port or 80, head + (body if method == "POST" else b"")


async def _read(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        lowered = line.lower()
        if lowered.startswith(b"content-length:"):
            length = int(line[15:].strip())
        elif lowered.startswith(b"transfer-encoding:") and b"chunked" in lowered:
            chunked = True
    if chunked:
        while size := int((await reader.readline()).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    elif length:
        await reader.readexactly(length)
    return status


async def _generate(targets: list[tuple[str, int, bytes]], seconds: float, connections: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def connection(index: int) -> None:
        host, port, raw = targets[index % len(targets)]
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(raw)
                status = await _read(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "statuses": statuses}  # fmt: skip


def run_load(targets: list[str], seconds: float = 5.0, connections: int = 64, method: str = "GET", body: bytes = b"",
             headers: tuple[str, ...] = ()) -> dict:  # fmt: skip
    """Run the generator in a process of its own and return its figures."""
    args = [sys.executable, __file__, "--seconds", str(seconds), "--connections", str(connections), "--method", method]
    for target in targets:
        args += ["--target", target]
    for header in headers:
        args += ["--header", header]
    if body:
        path = Path(f"/tmp/tactful-loadgen-{time.monotonic_ns()}.bin")
        path.write_bytes(body)
        args += ["--body-file", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", action="append", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-file", default=None)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    body = Path(args.body_file).read_bytes() if args.body_file else b""
    targets = [_request(t, args.method, body, args.header) for t in args.target]
    print(json.dumps(asyncio.run(_generate(targets, args.seconds, args.connections))))


if __name__ == "__main__":
    main()
