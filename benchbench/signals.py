"""Ctrl-C and SIGTERM, handled the same way in every phase of every command.

While `handled()` is active (cli.main, a serve-video job), the first SIGINT or SIGTERM raises
`Interrupted` wherever the main thread is (start-up, set-up, an iteration, between workloads, the
summary, report writing); the command saves what finished and exits 128 + the signal (130, 143)
with one line. Inside `deferred()` (a record being saved) the signal waits until the block ends.
Once stopping, a second signal is ignored (what finished is being saved) and a third quits at once.
After `handled()` ends (interpreter shutdown, atexit callbacks) signals are only noted: nothing can
raise into an exiting interpreter ("Exception ignored in atexit callback").
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)
QUIT_AFTER = 3     # signals while stopping: the third one ends the process without saving


class _State:
    depth = 0                       # nested handled() blocks
    deferred = 0                    # nested deferred() blocks
    pending: int | None = None      # a signal that arrived inside deferred()
    stopping: int | None = None     # the signal being acted on
    count = 0
    previous: dict[int, Any] = {}


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    st = _state
    st.count += 1
    if st.depth == 0:               # after handled(): the interpreter is exiting
        st.stopping = st.stopping or signum
        return
    if st.stopping is not None:
        if st.count >= QUIT_AFTER:
            os._exit(128 + signum)
        _say("still saving what finished; one more signal quits without saving")
        return
    if st.deferred:
        st.pending = st.pending or signum
        return
    st.stopping = signum
    raise Interrupted(signum)


def _say(text: str) -> None:
    try:  # os.write is safe in a handler; print() is not (a reentrant write on the same stream)
        os.write(2, f"{text}\n".encode())
    except OSError:
        pass


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def handled(final: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted while inside (main thread only; nested use is fine).
    `final` (the process is about to exit): afterwards signals are only noted, not restored."""
    if not _main_thread():
        yield
        return
    st = _state
    if st.depth == 0:
        st.previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
        st.deferred, st.pending, st.stopping, st.count = 0, None, None, 0
        for sig in SIGNALS:
            signal.signal(sig, _handler)
    st.depth += 1
    try:
        yield
    finally:
        st.depth -= 1
        if st.depth == 0 and not final:
            for sig, old in st.previous.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)


def reinstall() -> None:
    """Take SIGINT and SIGTERM back after a library replaced the handlers (asyncio.run restores
    the defaults when it ends)."""
    if _state.depth and _main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """A signal arriving inside waits until the block ends (a save is never cut in half)."""
    st = _state
    st.deferred += 1
    try:
        yield
    finally:
        st.deferred -= 1
        if st.deferred == 0 and st.pending is not None and st.stopping is None and st.depth:
            signum, st.pending = st.pending, None
            st.stopping = signum
            raise Interrupted(signum)


def stopping() -> int | None:
    """The signal being acted on, if any."""
    return _state.stopping
