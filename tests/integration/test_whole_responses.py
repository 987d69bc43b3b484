"""A response's head goes out with the start of its body (api/serving.py `WholeResponses`): one write, one TCP
segment, where uvicorn makes two; a head alone still goes out by the end of the event loop's turn, before a close,
and in order with everything after it."""
from __future__ import annotations

import asyncio
from api.serving import WholeResponses

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recording:
    """The socket's transport: what was written, and when it was closed."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.written.append(b"<paused>")


def transport() -> tuple[WholeResponses, Recording]:
    socket = Recording()
    return WholeResponses(socket, asyncio.get_running_loop()), socket  # type: ignore[arg-type]


async def test_a_head_and_its_body_are_one_write() -> None:
    whole, socket = transport()
    whole.write(HEAD)
    assert socket.written == [] and whole.get_write_buffer_size() == len(HEAD)
    whole.write(b"{}")
    assert socket.written == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the held head's flush was cancelled: nothing more goes out
    assert socket.written == [HEAD + b"{}"]


async def test_a_head_alone_goes_out_by_the_end_of_the_turn_and_before_a_close() -> None:
    whole, socket = transport()
    whole.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # no body follows (as for HEAD, 204 and 304)
    await asyncio.sleep(0)
    assert socket.written == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    whole.write(HEAD)
    whole.close()  # Connection: close right after the head
    assert socket.written[1:] == [HEAD] and socket.closed
    await asyncio.sleep(0)
    assert len(socket.written) == 2


async def test_anything_else_goes_straight_through_in_order() -> None:
    whole, socket = transport()
    for chunk in (b"5\r\nhello\r\n", b"0\r\n\r\n", b"\x81\x05hello"):  # chunked body parts, a WebSocket frame
        whole.write(chunk)
    whole.writelines([HEAD, b"{}"])
    whole.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    whole.write(HEAD)  # a head after a held head: both go out together, in order
    whole.pause_reading()  # the rest is the socket's own
    assert socket.written == [b"5\r\nhello\r\n", b"0\r\n\r\n", b"\x81\x05hello", HEAD + b"{}",
                              b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD, b"<paused>"]


async def test_an_aborted_connection_drops_its_held_head() -> None:
    whole, socket = transport()
    aborted: list[bool] = []
    socket.abort = lambda: aborted.append(True)  # type: ignore[attr-defined]
    whole.write(HEAD)
    whole.abort()
    await asyncio.sleep(0)
    assert socket.written == [] and aborted == [True]
