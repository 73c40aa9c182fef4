"""One watcher thread for the answers' deadlines (``cube/deadlines.py``): a callback runs once
its deadline passes and not before, a withdrawn one never, in deadline order, a failing one
does not stop the others, one thread for many answers, and again in a forked child."""

from __future__ import annotations

import os
import threading
import time

from cube.deadlines import Watcher


def test_a_callback_runs_when_its_deadline_passes_and_not_before():
    watcher = Watcher()
    fired = threading.Event()
    began = time.monotonic()
    watcher.call_at(began + 0.2, fired.set)
    assert not fired.wait(0.1)
    assert fired.wait(5) and time.monotonic() - began >= 0.2
    assert watcher.pending() == 0


def test_a_withdrawn_callback_never_runs():
    watcher = Watcher()
    fired = threading.Event()
    first = watcher.call_at(time.monotonic() + 0.05, fired.set)
    later = watcher.call_at(time.monotonic() + 0.1, fired.set)
    watcher.cancel(later)
    watcher.cancel(first)
    watcher.cancel(first)  # twice, or after it ran: nothing happens
    assert watcher.pending() == 0
    assert not fired.wait(0.3)


def test_callbacks_run_in_deadline_order_and_a_failure_stops_none():
    watcher = Watcher()
    ran: list[int] = []
    done = threading.Event()
    now = time.monotonic()

    def fail() -> None:
        raise RuntimeError("a failing callback")

    watcher.call_at(now + 0.15, lambda: (ran.append(3), done.set()))
    watcher.call_at(now + 0.1, lambda: ran.append(2))
    watcher.call_at(now + 0.07, fail)
    watcher.call_at(now + 0.05, lambda: ran.append(1))
    assert done.wait(5)
    assert ran == [1, 2, 3]


def test_many_answers_share_one_thread():
    watcher = Watcher()
    for _ in range(200):
        watcher.cancel(watcher.call_at(time.monotonic() + 10, lambda: None))
    assert watcher.pending() == 0
    assert sum(t.name == "zicht-deadlines" and t.is_alive() for t in threading.enumerate()) >= 1
    assert watcher._thread is not None and watcher._thread.is_alive()
    threads = {id(watcher._thread)}
    watcher.cancel(watcher.call_at(time.monotonic() + 10, lambda: None))
    assert {id(watcher._thread)} == threads


def test_the_process_watcher_works_in_a_forked_child():
    from cube.deadlines import WATCHER

    fired = threading.Event()
    WATCHER.cancel(WATCHER.call_at(time.monotonic() + 10, fired.set))  # started in the parent
    pid = os.fork()
    if pid == 0:  # the child: its watcher thread must start again
        ok = threading.Event()
        WATCHER.call_at(time.monotonic() + 0.05, ok.set)
        os._exit(0 if ok.wait(5) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
