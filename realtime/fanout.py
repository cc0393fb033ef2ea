"""Process-local fan-out: one channel-layer member per group and process, not one per socket.

Channels' usual pattern gives every socket its own layer channel: each broadcast is then
decoded, queued and woken up once per socket, which cost 3-4x the bare `websockets` limit per
client (bench/fanout). Here each process joins a group once, decodes each message once, and
hands it to its local consumers in one pass; a consumer's send runs inline until it would
wait (a client whose TCP buffer is full), and only then becomes a task of its own, so one
slow client never holds up the others.
"""

import asyncio
import logging
import types
import weakref

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def start_eagerly(coro) -> asyncio.Task | None:
    """Run `coro` until it first suspends; only then give it a task (Python 3.12's eager tasks)."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    except OSError:
        # The client has gone (uvicorn's ClientDisconnected); its websocket.disconnect,
        # already on its way, removes it from its groups.
        return None
    except Exception:
        logger.exception("relaying to a socket failed")
        return None
    task = asyncio.ensure_future(_resume(coro, yielded))
    task.add_done_callback(_log_failure)
    # A task cancelled before its first step never runs _resume: close `coro` so its
    # cleanup (finally blocks) still runs. A no-op once `coro` has finished.
    task.add_done_callback(lambda t: coro.close() if t.cancelled() else None)
    return task


@types.coroutine
def _resume(coro, yielded):
    # Hands the future `coro` waits on to the task, then passes results (or a cancellation)
    # back into `coro`: the task drives `coro` as if it had started it.
    while True:
        try:
            value = yield yielded
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(value)
        except StopIteration as stop:
            return stop.value


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None and not isinstance(task.exception(), OSError):
        logger.error("relaying to a socket failed", exc_info=task.exception())


class LocalGroups:
    """The groups of one event loop (one server process): members, and one reader per group."""

    def __init__(self) -> None:
        self.members: dict[str, dict] = {}
        self.readers: dict[str, tuple[asyncio.Task, asyncio.Future]] = {}

    async def join(self, group: str, consumer) -> None:
        """Returns once the group's reader is subscribed, so no message sent after it is missed."""
        self.members.setdefault(group, {})[consumer] = None
        if group not in self.readers:
            subscribed = asyncio.get_running_loop().create_future()
            self.readers[group] = (asyncio.ensure_future(self._read(group, subscribed)), subscribed)
        await asyncio.shield(self.readers[group][1])

    def leave(self, group: str, consumer) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.pop(consumer, None)
        if not members:
            # Dropped at once, before any await: a join right after starts a fresh reader.
            del self.members[group]
            reader, _ = self.readers.pop(group)
            reader.cancel()

    async def _read(self, group: str, subscribed: asyncio.Future) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel("local.")
        try:
            await layer.group_add(group, channel)
            subscribed.set_result(None)
            while True:
                message = await layer.receive(channel)
                # A copy: consumers may leave (or join) while this pass runs.
                for consumer in list(self.members.get(group, ())):
                    start_eagerly(consumer.dispatch(message))
        except asyncio.CancelledError:
            if not subscribed.done():
                subscribed.cancel()
            raise
        except Exception as exc:
            if not subscribed.done():
                subscribed.set_exception(exc)
            logger.exception("reading group %s failed", group)
            raise
        finally:
            # A reader that ends for any reason leaves the layer group, and takes its entry with it.
            if self.readers.get(group, (None,))[0] is asyncio.current_task():
                del self.readers[group]
            try:
                await layer.group_discard(group, channel)
            except Exception:
                logger.warning("leaving group %s failed", group, exc_info=True)


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LocalGroups]" = weakref.WeakKeyDictionary()


def local_groups() -> LocalGroups:
    loop = asyncio.get_running_loop()
    if loop not in _by_loop:
        _by_loop[loop] = LocalGroups()
    return _by_loop[loop]
