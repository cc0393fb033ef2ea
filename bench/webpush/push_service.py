"""A loopback Web Push service for the benchmark: https, keep-alive, answers after a delay.

One asyncio process (its own core): each request is parsed just enough (request line, headers,
Content-Length body) and answered after `--delay` seconds without blocking the others. The
endpoint path decides the answer, so the benchmark knows what to expect:
    /push/<n>            201
    /push/gone/<n>       410 (the subscription is gone)
    /push/busy/<n>       429 with Retry-After: <--retry-after> the first time, then 201
It prints one JSON line with the counts when it gets SIGTERM or SIGINT (duplicates: an
endpoint that took a message twice).

    python bench/webpush/push_service.py --port 8321 --cert server.pem --key server.key
"""

import argparse
import asyncio
import json
import signal
import ssl

counts = {"requests": 0, "201": 0, "410": 0, "429": 0, "connections": 0, "duplicates": 0}
busy_seen: set[bytes] = set()
accepted: set[bytes] = set()


def answer(path: bytes, retry_after: int) -> bytes:
    if path.startswith(b"/push/gone/"):
        counts["410"] += 1
        return b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n"
    if path.startswith(b"/push/busy/") and path not in busy_seen:
        busy_seen.add(path)
        counts["429"] += 1
        return (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: %d\r\nContent-Length: 0\r\n\r\n" % retry_after)
    counts["201"] += 1
    if path in accepted:
        counts["duplicates"] += 1  # the same endpoint accepted a message twice
    accepted.add(path)
    return b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, retry_after: int):
    counts["connections"] += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1]
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts["requests"] += 1
            await asyncio.sleep(delay)
            writer.write(answer(path, retry_after))
    except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.delay, args.retry_after),
                                        "127.0.0.1", args.port, ssl=context, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--retry-after", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
