"""Starting several servers at once, and stopping them at once.

Each server's context manager blocks until its server answers (a uvicorn process takes a second or two
to import the app), and its exit until the server has stopped. Four instances of an app, one after
another, would wait four times as long as they need to; in threads, they wait once.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from typing import TypeVar

T = TypeVar("T")


def enter_together(contexts: Sequence[AbstractContextManager[T]], running: ExitStack) -> list[T]:
    """Enters every context at once, each in a thread; `running` leaves them at once when it closes.

    If any fails to enter, the ones that did are left as well, when `running` closes (at once, as the
    error passes through the caller's `with`), and the first error is raised."""
    with ThreadPoolExecutor(max_workers=max(1, len(contexts))) as pool:
        entering = [pool.submit(context.__enter__) for context in contexts]
    entered = [context for context, future in zip(contexts, entering, strict=True) if not future.exception()]
    running.callback(_exit_together, entered)
    return [future.result() for future in entering]  # raises the first error, if any


def _exit_together(contexts: Sequence[AbstractContextManager[object]]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, len(contexts))) as pool:
        leaving = [pool.submit(context.__exit__, None, None, None) for context in contexts]
    for future in leaving:
        future.result()
