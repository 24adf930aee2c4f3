"""The GUI's thread pool (gui/bridge/tasks.py): results on the GUI thread, superseded tasks dropped, and the work
a window asks for while it is being built held until the event loop turns (the window appears first)."""

import threading

import pytest

pytestmark = pytest.mark.gui


def test_tasks_held_while_the_window_is_built_start_on_the_first_event_loop_turn(qtbot):
    from rlstudio.gui.bridge.tasks import TaskRunner

    tasks = TaskRunner()
    ran, results = [], []
    tasks.hold_until_event_loop()
    first = tasks.submit(lambda: ran.append(threading.get_ident()) or "first")
    first.finished.connect(results.append)
    superseded = tasks.submit(lambda: ran.append("superseded"), key="k")
    latest = tasks.submit(lambda: "latest", key="k")
    latest.finished.connect(results.append)
    superseded.finished.connect(results.append)
    assert ran == [] and tasks.pool.activeThreadCount() == 0  # nothing runs before the loop turns
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    assert sorted(results) == ["first", "latest"] and "superseded" not in ran
    assert ran[0] != threading.get_ident()  # on a worker thread
    later = tasks.submit(lambda: "later")  # after the first turn: at once
    with qtbot.waitSignal(later.finished, timeout=5000) as got:
        pass
    assert got.args == ["later"]
    assert tasks.shutdown()


def test_held_tasks_never_start_after_shutdown(qtbot):
    from rlstudio.gui.bridge.tasks import TaskRunner

    tasks = TaskRunner()
    ran = []
    tasks.hold_until_event_loop()
    tasks.submit(lambda: ran.append(1))
    assert tasks.shutdown()
    qtbot.wait(50)
    assert ran == []


def test_a_task_is_released_on_the_gui_thread_never_on_a_worker(qtbot):
    """A task's QObject must end on the GUI thread. Its worker once held it until Qt deleted the finished runnable
    there: a superseded task (nobody else holding it) then died on the worker thread, a use-after-free the GUI
    thread could run into (the suite saw a bus error in a GUI test)."""
    import gc

    from rlstudio.gui.bridge.tasks import TaskRunner

    tasks = TaskRunner()
    release = threading.Event()
    died_on: list[int] = []
    first = tasks.submit(release.wait, 10, key="k")
    first.destroyed.connect(lambda *_: died_on.append(threading.get_ident()))
    qtbot.waitUntil(lambda: tasks.pool.activeThreadCount() == 1, timeout=5000)  # running, blocked
    latest = tasks.submit(lambda: "latest", key="k")  # supersedes it while it runs
    del first
    gc.collect()
    release.set()
    with qtbot.waitSignal(latest.finished, timeout=5000) as got:
        pass
    assert got.args == ["latest"]
    assert tasks.shutdown()
    gc.collect()
    qtbot.wait(50)
    assert died_on == [threading.get_ident()]
