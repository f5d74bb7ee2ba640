"""A loopback TCP proxy that makes any origin look far away: a round-trip delay and a
per-connection bandwidth cap, in both directions. Kernel traffic shaping is not available on
these machines, so this is the project's own tool. It can also go down on purpose:
`mode = "refuse"` closes new connections at once, `"blackhole"` accepts and never answers.

    python bench/wan_origin.py --target 127.0.0.1:9000 --listen 9100 --rtt-ms 100 --mbps 160
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Literal

Mode = Literal["up", "refuse", "blackhole"]
PIECE_BYTES = 64 * 1024


class WanProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        rtt_ms: float = 0.0,
        bandwidth_bytes_per_second: float | None = None,
        listen_port: int = 0,
    ) -> None:
        self.target = (target_host, target_port)
        self.one_way_seconds = rtt_ms / 2000.0
        self.bandwidth = bandwidth_bytes_per_second
        self.listen_port = listen_port
        self.mode: Mode = "up"
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen_port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def set_mode(self, mode: Mode) -> None:
        """Change behaviour for new connections and cut the open ones, as an outage would."""
        self.mode = mode
        await self._cut()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._cut()

    async def _cut(self) -> None:
        """End every open connection, both sides, as a reset would end them."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The connection is served in a child task, so that cutting it (cancelling the child)
        # never cancels the task asyncio's server watches.
        served = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(served)
        try:
            await asyncio.wait([served])
            if not served.cancelled():
                served.exception()  # a reset mid-transfer is part of the job, not an error
        finally:
            self._tasks.discard(served)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            return
        if self.mode == "blackhole":
            await reader.read()  # hold the connection, answer nothing, until the client quits
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            return
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Deliver each piece one-way-delay after it was read, no faster than the bandwidth."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            next_free = time.monotonic()
            while True:
                due, data = await queue.get()
                if not data:
                    break
                start = max(due, next_free)
                if self.bandwidth:
                    next_free = start + len(data) / self.bandwidth
                    start = next_free  # the last byte of the piece arrives at next_free
                delay = start - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                sink.write(data)
                await sink.drain()
            with contextlib.suppress(OSError, RuntimeError):
                sink.write_eof()

        delivery = asyncio.create_task(deliver())
        try:
            while True:
                data = await source.read(PIECE_BYTES)
                await queue.put((time.monotonic() + self.one_way_seconds, data))
                if not data:
                    break
            await delivery
        except (ConnectionError, asyncio.IncompleteReadError):
            delivery.cancel()
        finally:
            if not delivery.done():
                delivery.cancel()


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="host:port of the real origin")
    parser.add_argument("--listen", type=int, default=0)
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument("--mbps", type=float, default=160.0, help="per-connection megabits/s")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    proxy = WanProxy(
        host,
        int(port),
        rtt_ms=args.rtt_ms,
        bandwidth_bytes_per_second=args.mbps * 1e6 / 8,
        listen_port=args.listen,
    )
    await proxy.start()
    print(f"ready {proxy.url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main())
