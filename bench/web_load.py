"""Load generator for bench_web: browsers-worth of sessions against `python -m bot web`.

    python -m bench.web_load URL SESSIONS QUESTIONS_EACH RATES NEW_SESSIONS   (RATES: 200,500)

Each session opens the page (its cookie and CSRF token) and asks through POST /api/message the way
the page's script does. Phases:
- throughput: every session asks its questions one after another, all sessions at once;
  questions/s = questions answered / time from the first to the last;
- latency: open loop at each of RATES questions per second in total, each session at its own
  steady pace (not waiting for answers); send → answer time per question;
- sessions: NEW_SESSIONS more sessions each open the page and ask one question, so the server's
  memory can be read before and after (it waits for a line on stdin in between).
Prints one JSON line per phase.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from urllib.parse import urlsplit

from bench.load_gen import QUESTIONS, pct

CSRF_RE = re.compile(rb'<meta name="csrf-token" content="([^"]+)">')
COOKIE_RE = re.compile(rb"^set-cookie: (tdzs_session=[^;]+)", re.I | re.M)


class Connection:
    """A keep-alive HTTP/1.1 connection with just enough of the protocol for this server. A
    full client (aiohttp's) would spend as much CPU per request as the server does, and the two
    share the machine: the figures would measure the client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        headers = await self.reader.readuntil(b"\r\n\r\n") if not status_line.endswith(b"\r\n\r\n") else b""
        length = int(re.search(rb"content-length: *(\d+)", headers, re.I).group(1))
        return int(status_line.split()[1]), headers, await self.reader.readexactly(length)


class Session:
    """One visitor: its cookie and CSRF token, and as many connections as it has requests in flight."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.idle: list[Connection] = []
        self.cookie = b""
        self.csrf = b""

    async def _connection(self) -> Connection:
        if self.idle:
            return self.idle.pop()
        return Connection(*await asyncio.open_connection(self.host, self.port))

    async def _send(self, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
        conn = await self._connection()
        answer = await conn.request(head, body)
        self.idle.append(conn)
        return answer

    async def open(self) -> None:
        status, headers, page = await self._send(f"GET / HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        self.cookie = COOKIE_RE.search(headers).group(1)
        self.csrf = CSRF_RE.search(page).group(1)

    async def ask(self, text: str) -> float:
        body = json.dumps({"text": text}).encode()
        head = (f"POST /api/message HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n").encode() + b"Cookie: " + self.cookie + b"\r\nX-CSRF-Token: " \
            + self.csrf + b"\r\n\r\n"
        started = time.perf_counter()
        status, _, answer = await self._send(head, body)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or b'"replies": [{' not in answer:
            raise RuntimeError(f"{status}: {answer[:200]!r}")
        return elapsed

    async def close(self) -> None:
        for conn in self.idle:
            conn.writer.close()
        self.idle = []


async def throughput(sessions: list[Session], each: int) -> dict:
    async def run(k: int, s: Session) -> list[float]:
        return [await s.ask(QUESTIONS[(k + i) % len(QUESTIONS)]) for i in range(each)]

    started = time.perf_counter()
    results = await asyncio.gather(*(run(k, s) for k, s in enumerate(sessions)))
    seconds = time.perf_counter() - started
    latencies = [x for r in results for x in r]
    return {"phase": "throughput", "questions": len(latencies), "seconds": seconds,
            "questions_per_s": len(latencies) / seconds, "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99)}


async def latency(sessions: list[Session], each: int, rate: float) -> dict:
    interval = len(sessions) / rate
    tasks: list[asyncio.Task] = []

    async def run(k: int, s: Session) -> None:
        await asyncio.sleep(interval * k / len(sessions))
        for i in range(each):
            tasks.append(asyncio.create_task(s.ask(QUESTIONS[(k + i) % len(QUESTIONS)])))
            await asyncio.sleep(interval)

    started = time.perf_counter()
    await asyncio.gather(*(run(k, s) for k, s in enumerate(sessions)))
    latencies = await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    return {"phase": "latency", "rate": rate, "questions": len(latencies), "achieved_per_s": len(latencies) / seconds,
            "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99)}


async def main(url: str, count: int, each: int, rates: list[float], new_sessions: int) -> None:
    sessions = [Session(url) for _ in range(count)]
    await asyncio.gather(*(s.open() for s in sessions))
    await asyncio.gather(*(s.ask("你好") for s in sessions))  # every session stored, caches warm
    print(json.dumps(await throughput(sessions, each)), flush=True)
    for rate in rates:
        print(json.dumps(await latency(sessions, each, rate)), flush=True)
    for s in sessions:
        await s.close()
    print(json.dumps({"phase": "ready"}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # the bench reads memory now

    async def one() -> None:
        s = Session(url)
        await s.open()
        await s.ask(QUESTIONS[0])
        await s.close()

    for start in range(0, new_sessions, count):
        await asyncio.gather(*(one() for _ in range(min(count, new_sessions - start))))
    print(json.dumps({"phase": "sessions", "new_sessions": new_sessions}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [float(r) for r in sys.argv[4].split(",")],
                     int(sys.argv[5])))
