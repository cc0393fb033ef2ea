"""Load generator: one process holding many WebSocket clients, counting frames cheaply.

A client library decodes and dispatches every frame in Python; at 10,000 clients on one
core that alone would add a few hundred ms to what we measure. These clients parse only
frame headers (server frames are unmasked), answer pings, and record when each data frame
arrived. The n-th data frame after the snapshot is broadcast n: messages are counted, not
decoded, so a lost one shows as a short count at the end.
"""

import asyncio
import base64
import os
import struct
import time


class Client(asyncio.Protocol):
    def __init__(self, host: str, path: str, deflate: bool, arrivals: list, ready: asyncio.Future):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            + ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else "")
            + "\r\n"
        ).encode()
        self.arrivals = arrivals  # arrivals[n] = list of arrival times of broadcast n
        self.ready = ready
        self.buffer = b""
        self.upgraded = False
        self.frames = -1  # the first data frame is the snapshot
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc):
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before the upgrade: {exc}"))

    def data_received(self, data):
        now = time.time()
        buffer = self.buffer + data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(buffer[:200]))
                self.transport.close()
                return
            self.upgraded = True
            buffer = buffer[end + 4:]
        pos = 0
        size = len(buffer)
        while size - pos >= 2:
            opcode = buffer[pos] & 0x0F
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = struct.unpack_from("!H", buffer, pos + 2)[0]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buffer, pos + 2)[0]
                head = 10
            if size - pos < head + length:
                break
            if opcode in (1, 2):
                self.frames += 1
                if self.frames == 0:
                    if not self.ready.done():
                        self.ready.set_result(None)
                else:
                    index = self.frames - 1
                    if index < len(self.arrivals):
                        self.arrivals[index].append(now)
            elif opcode == 9:  # ping: answer with a masked pong carrying the same payload
                payload = buffer[pos + head:pos + head + length]
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.transport.close()
            pos += head + length
        self.buffer = buffer[pos:]


async def hold(host, port, path, count, deflate, broadcasts, done_event, report):
    loop = asyncio.get_running_loop()
    arrivals = [[] for _ in range(broadcasts)]
    clients = []
    semaphore = asyncio.Semaphore(100)  # connects in flight: stays under the listen backlog

    async def one():
        async with semaphore:
            ready = loop.create_future()
            _, client = await loop.create_connection(
                lambda: Client(f"{host}:{port}", path, deflate, arrivals, ready), host, port)
            await asyncio.wait_for(ready, 60)
            clients.append(client)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    report.send({"connected": len(clients), "failed": len(failures),
                 "first_error": repr(failures[0]) if failures else None})
    await loop.run_in_executor(None, done_event.wait)
    report.send({"arrivals": arrivals, "closed": sum(c.closed for c in clients)})
    for client in clients:
        client.transport.close()


def main(core, host, port, path, count, deflate, broadcasts, done_event, report):
    os.sched_setaffinity(0, {core})
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(hold(host, port, path, count, deflate, broadcasts, done_event, report))
