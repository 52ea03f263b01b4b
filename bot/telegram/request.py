"""python-telegram-bot's networking on aiohttp instead of httpx.

Measured in `make bench` (bench_bot): httpcore's connection pool costs several milliseconds of
CPU per request (it scans and probes every pooled connection on each one), which capped the bot
at about 110 updates per second on 2 cores. aiohttp's client does the same job for a fraction of
that. python-telegram-bot supports this officially: `ApplicationBuilder.request()` takes any
`BaseRequest`; errors map to the same `TimedOut` / `NetworkError` as its own HTTPXRequest.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, connection_pool_size: int = 16, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 media_write_timeout: float | None = 20.0):
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE, pool_timeout=BaseRequest.DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        params = request_data.json_parameters if request_data else None
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._write_timeout if not files else self._media_write_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = None
        # aiohttp has no separate write timeout: the whole request may take connect + write + read.
        parts = [t for t in (connect_timeout, write_timeout, read_timeout) if t is not None]
        timeout = aiohttp.ClientTimeout(total=sum(parts) if len(parts) == 3 else None,
                                        connect=connect_timeout, sock_read=read_timeout)
        if files:
            data = aiohttp.FormData()
            for key, value in (params or {}).items():
                data.add_field(key, value)
            for name, part in files.items():
                filename, content, mime = (part + (None,) * 3)[:3] if isinstance(part, tuple) else (None, part, None)
                if hasattr(content, "read"):
                    content = content.read()
                data.add_field(name, content, filename=filename, content_type=mime)
        else:
            data = params
        try:
            async with self._session.request(method, url, data=data, timeout=timeout,
                                             headers={"User-Agent": self.USER_AGENT}) as resp:
                return resp.status, await resp.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
