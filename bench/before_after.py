"""Every existing figure against the commit before this round's restructuring, measured in the same run.

Issue 16 asks that start-up, the GUI's stall during a run, the curves' redraw, the rollout view's FPS and
Start → first point are no worse than before the change. This script makes a git worktree of ``--base`` (the
commit before the change) in a temporary folder and runs each benchmark alternately in the base tree and in the
current tree (base, head, base, head, …), with the same interpreter (this venv), so both see the same machine
load, Ray and library versions. Ends with ONE JSON line (progress goes to stderr, each run's output to a log
folder named in the JSON).

    python bench/before_after.py [--base 09ef418] [--only curves_redraw,gui_startup] [--pairs gui_run=3]
                                 [--hold-min 11] [--stop-by 13:20]

Repetitions (base+head pairs) by default: curves_redraw 5 (each run: medians of 20 live updates),
gui_startup 3 (each run: median of 3 launches), gui_run 2 (each run: a warm and a cold 4-trial run of
15 iterations), rollout 2 (each run: 30 s with the view, 30 s without).

How each tree is run
  * Base: ``cwd=<worktree>``, ``PYTHONPATH=<worktree>`` first (the venv's editable install points at the current
    tree; PYTHONPATH comes before it). The editable install also maps ``rlstudio._resources`` (presets, icons) to
    the current tree's ``resources/``; the worktree gets a symlink ``rlstudio/_resources -> ../resources`` so the
    base reads its own presets, as its wheel would. Each bench runs in a small wrapper that reports, after the
    bench, which ``rlstudio`` and which resources folder it imported; a base run that imported anything outside
    the worktree is an error, not a figure. Child processes (the app in gui_startup, the runner, Ray's
    processes) inherit cwd and PYTHONPATH; their PYTHONPATH is sampled and counted in the JSON.
  * Each tree runs its OWN copy of the bench script where that is the same measurement: gui_startup.py and
    curves_redraw.py are byte-identical in both; rollout.py differs in one line (the player's pid through the
    new bridge's ``controller.pid`` instead of ``controller.process.processId()``). gui_run.py is the exception:
    the base's copy races with the base's deferred Start (see BENCHES), so the base runs the CURRENT script
    (waits for the run's ``finished`` signal, counts only this run's curves) with COMPAT mapping the two names
    the base spells differently (``window.run_control.prepare_runner`` = ``window._prepare_runner``;
    ``rlstudio.core.folder.new_experiment_folder`` = the engine runner's).
  * Benches that start Ray (gui_startup: the app starts its session at launch; gui_run; rollout) run under
    ``/tmp/rlstudio-ray.lock`` (flock), taken per base+head pair: a pair is never split by someone else's Ray.
    The pairs go in rounds (one pair of each bench, then the next) and as many pairs as fit in ``--hold-min``
    minutes share one hold, so on a busy machine the lock is asked for a few times, never held long, and others
    run between holds. ``--stop-by HH:MM`` (UTC): no pair starts later; the JSON lists the pairs not run.

Noise allowance (the "no worse" test)
  A figure is within target when head is no worse than base by more than what two runs of the SAME code differ
  on this machine in this run: the base runs' relative range, (max - min) / median. Worse means a higher value for
  times, stalls and memory, a lower one for FPS; ``worse_by`` is head/base - 1 (lower is better) or
  1 - head/base (higher is better). Medians of n runs vary less than single runs, so this allowance is generous
  for figures with one outlier (a stall's max); ``separated`` says whether every head run was worse than every
  base run (3 vs 3: 1 chance in 20 for identical code), a stricter reading to look at beside it, and
  ``head_worse_in_pairs`` in how many base+head pairs the head run was the worse one (5 of 5: 1 chance in 32).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = "/tmp/rlstudio-ray.lock"

# (json key, what it is, "lower" or "higher" is better); figures a bench prints that are no target (the bare Qt
# window: how loaded the machine was) are reported as controls.
BENCHES = {
    "curves_redraw": {
        "args": [], "ray": False, "pairs": 5, "timeout_s": 600,
        "figures": [("target_redraw_ms_median", "redraw, 64 trials x 10k points (ms)", "lower"),
                    ("target_data_update_ms_median", "data update per live update, 64 trials (ms)", "lower"),
                    ("target_first_draw_ms", "first draw, 64 trials (ms)", "lower"),
                    ("baseline_1_trial_redraw_ms_median", "redraw, 1 trial x 10k points (ms)", "lower")],
        "controls": [],
    },
    "gui_startup": {
        # the app starts its Ray session in the background at launch (and ends it on close): Ray, so locked
        "args": ["--repeats", "3"], "ray": True, "pairs": 3, "pair_s": 150, "timeout_s": 420,
        "figures": [("app_interactive_s_median", "start-up: window answers input (s), median of 3 launches",
                     "lower")],
        "controls": ["bare_qt_window_s_median"],
    },
    "gui_run": {
        "args": [], "ray": True, "pairs": 2, "pair_s": 360, "timeout_s": 480,
        # the base's copy ends its loop when ``run.process`` is None, which it also is right after Start while the
        # base checks the experiment first (Start is deferred until the check is done): on a loaded machine its
        # loop ended before the run began, its report raised, and closing the window then waited on a modal
        # "stop the run?" (measured here: a 12-minute hang). The current copy waits for the run's ``finished``
        # signal; it runs against the base package with the one renamed hook mapped (COMPAT).
        "head_script_for_base": True,
        "figures": [("warm_first_point_s", "Start -> first point, warm runner (s)", "lower"),
                    ("cold_first_point_s", "Start -> first point, cold runner (s)", "lower"),
                    ("warm_stall_p99_ms", "GUI stall during a run p99, warm (ms)", "lower"),
                    ("warm_stall_max_ms", "GUI stall during a run max, warm (ms)", "lower"),
                    ("cold_stall_p99_ms", "GUI stall during a run p99, cold (ms)", "lower"),
                    ("cold_stall_max_ms", "GUI stall during a run max, cold (ms)", "lower"),
                    ("warm_rss_max_mb", "GUI memory during a run (MB)", "lower")],
        "controls": ["warm_run_s", "cold_run_s"],
    },
    "rollout": {
        "args": [], "ray": True, "pairs": 2, "pair_s": 360, "timeout_s": 600,
        "figures": [("fps_received_main", "rollout FPS received (of 60)", "higher"),
                    ("fps_painted_main", "rollout FPS painted (of 60)", "higher"),
                    ("with_view_stall_p99_ms", "GUI stall p99 with the rollout view (ms)", "lower"),
                    ("with_view_stall_max_ms", "GUI stall max with the rollout view (ms)", "lower"),
                    ("baseline_stall_p99_ms", "GUI stall p99 during the run, no view (ms)", "lower"),
                    ("baseline_stall_max_ms", "GUI stall max during the run, no view (ms)", "lower"),
                    ("first_checkpoint_playing_after_s", "Start -> first checkpoint playing (s)", "lower"),
                    ("with_view_gui_rss_mb_max", "GUI memory with the rollout view (MB)", "lower")],
        "controls": ["player_cpu_percent", "with_view_gui_cpu_percent"],
    },
}

# For a current bench script run against the base package: the names it uses that the base spells differently.
# Nothing else is changed; the measurement is the current script's.
COMPAT = r"""
import sys, types
try:
    import rlstudio.core.folder
except ImportError:  # the base keeps new_experiment_folder in the engine's runner (imported only if called)
    folder = types.ModuleType("rlstudio.core.folder")

    def new_experiment_folder(*args, **kwargs):
        from rlstudio.engine.runner import new_experiment_folder as base_function
        return base_function(*args, **kwargs)

    folder.new_experiment_folder = new_experiment_folder
    sys.modules["rlstudio.core.folder"] = folder
from rlstudio.gui.main_window import MainWindow
if not hasattr(MainWindow, "run_control"):
    class RunControl:  # window.run_control.prepare_runner is the base's window._prepare_runner (read and set)
        def __init__(self, window):
            object.__setattr__(self, "_window", window)

        def __getattr__(self, name):
            return getattr(self._window, "_" + name)

        def __setattr__(self, name, value):
            setattr(self._window, "_" + name, value)

    MainWindow.run_control = property(RunControl)
"""

# Runs the bench as `python bench/X.py` would (its folder first on sys.path), then says what it imported.
WRAPPER = r"""
import json, os, runpy, sys
if os.environ.get("BEFORE_AFTER_COMPAT"):
    sys.path.insert(0, os.getcwd())
    exec(os.environ["BEFORE_AFTER_COMPAT"])
script = os.path.abspath(sys.argv[1]); sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(script)
try:
    runpy.run_path(script, run_name="__main__")
finally:
    import rlstudio
    from rlstudio.core.resources import resources_dir
    print("BEFORE_AFTER_IMPORTED " + json.dumps({"rlstudio": rlstudio.__file__, "resources": str(resources_dir())}),
          file=sys.stderr, flush=True)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class RayLock:
    """The machine's Ray lock (the same flock(2) lock `flock /tmp/rlstudio-ray.lock CMD` takes), waited for until
    ``stop_by`` (epoch seconds) at the latest."""

    class _Late(Exception):
        pass

    def __init__(self, stop_by: float | None = None):
        self.fd = None
        self.stop_by = stop_by
        self.waited_s = 0.0

    def acquire(self) -> bool:
        import signal

        started = time.monotonic()
        self.fd = os.open(LOCK, os.O_RDONLY | os.O_CREAT, 0o666)

        def late(*_):
            raise RayLock._Late

        previous = signal.signal(signal.SIGALRM, late)
        if self.stop_by is not None:
            signal.setitimer(signal.ITIMER_REAL, max(self.stop_by - time.time(), 0.01))
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)  # blocking: woken as soon as the holder lets go
        except RayLock._Late:
            os.close(self.fd)
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        self.waited_s = time.monotonic() - started
        return True

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


class Descendants:
    """Samples the bench's descendant processes every second: their PYTHONPATH (for the base: the worktree must
    come first) and their pids, so any left behind are ended by pid."""

    def __init__(self, pid: int, expect_first: str | None):
        self.pid, self.expect_first = pid, expect_first
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (create_time, name)
        self.python, self.python_ok = set(), set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        import psutil

        while not self._stop.is_set():
            try:
                children = psutil.Process(self.pid).children(recursive=True)
            except psutil.Error:
                children = []
            for child in children:
                try:
                    if child.pid not in self.seen:
                        self.seen[child.pid] = (child.create_time(), child.name())
                    if child.pid not in self.python and "python" in (child.exe() or ""):
                        self.python.add(child.pid)
                        first = child.environ().get("PYTHONPATH", "").split(os.pathsep)[0]
                        if self.expect_first is None or first == self.expect_first:
                            self.python_ok.add(child.pid)
                except psutil.Error:
                    pass
            self._stop.wait(1.0)

    def stop_and_clean(self) -> list[str]:
        """Stop sampling; end (by pid) any descendant still alive; say which."""
        import psutil

        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + 10  # the bench's own shutdown may still be ending its last helpers
        while time.monotonic() < deadline and any(psutil.pid_exists(pid) for pid in self.seen):
            time.sleep(0.5)
        left = []
        for pid, (created, name) in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() != created:
                    continue  # the pid was reused by someone else's process
                left.append(f"{name}:{pid}")
                proc.terminate()
                try:
                    proc.wait(5)
                except psutil.TimeoutExpired:
                    proc.kill()
            except psutil.Error:
                continue
        return left


def run_bench(name: str, tree: Path, is_base: bool, args: list[str], timeout_s: float, logs: Path,
              index: int) -> dict:
    """One run of ``tree/bench/<name>.py`` (for a base run with ``head_script_for_base``: the current script,
    copied with its _common.py to ``tree/bench_head/`` so that it finds the base tree as its root); its figures
    (the last JSON line) and what it imported."""
    label = "base" if is_base else "head"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("BEFORE_AFTER_COMPAT", None)
    script = tree / "bench" / f"{name}.py"
    if tree != ROOT:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
        if BENCHES[name].get("head_script_for_base"):
            import shutil

            (tree / "bench_head").mkdir(exist_ok=True)
            for file in (f"{name}.py", "_common.py"):
                shutil.copy2(ROOT / "bench" / file, tree / "bench_head" / file)
            script = tree / "bench_head" / f"{name}.py"
            env["BEFORE_AFTER_COMPAT"] = COMPAT
    out_path = logs / f"{name}-{index}-{label}.out"
    err_path = logs / f"{name}-{index}-{label}.err"
    started = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(script), *args],
                                cwd=tree, env=env, stdout=out, stderr=err, start_new_session=True)
        watch = Descendants(proc.pid, str(tree) if tree != ROOT else None)
        try:
            code = proc.wait(timeout_s)
        except BaseException:  # the timeout, or this script interrupted: its bench goes too
            os.killpg(proc.pid, 15)
            try:
                code = proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                code = proc.wait()
            if sys.exc_info()[0] is not subprocess.TimeoutExpired:
                watch.stop_and_clean()
                raise
        left = watch.stop_and_clean()
    seconds = time.monotonic() - started
    lines = out_path.read_text().splitlines()
    figures = next((json.loads(line) for line in reversed(lines) if line.startswith("{")), None)
    imported = next((json.loads(line.split(" ", 1)[1]) for line in reversed(err_path.read_text().splitlines())
                     if line.startswith("BEFORE_AFTER_IMPORTED ")), None)
    problems = []
    if code != 0 or figures is None:
        problems.append(f"exit code {code}, {'no' if figures is None else 'a'} JSON line (see {err_path})")
    if imported is None:
        problems.append("the wrapper did not report what it imported")
    else:
        for what, path in imported.items():
            if not Path(path).resolve().is_relative_to(tree.resolve()):
                problems.append(f"{label} imported {what} from {path}, outside {tree}")
    if left:
        problems.append(f"processes left behind (ended by pid): {', '.join(left)}")
    ok_children = f"{len(watch.python_ok)}/{len(watch.python)}"
    log(f"{name} {label} run {index}: {seconds:.0f} s, exit {code}; python children with the tree's PYTHONPATH "
        f"{ok_children}" + (f"; PROBLEMS: {'; '.join(problems)}" if problems else ""))
    # a run that imported the wrong tree measured the wrong code: its figures are dropped
    wrong_tree = any("outside" in p for p in problems)
    return {"figures": None if wrong_tree else figures, "seconds": seconds, "problems": problems,
            "script": str(script.relative_to(tree)),
            "imported": imported, "python_children_ok": ok_children}


def compare(base: list, head: list, better: str) -> dict:
    b = [v for v in base if v is not None]
    h = [v for v in head if v is not None]
    result = {"better": better, "base_runs": base, "head_runs": head}
    if not b or not h:
        return {**result, "within_target": None, "why": "no value on one side"}
    bm, hm = statistics.median(b), statistics.median(h)
    ratio = hm / bm if bm else None
    spread = lambda values, m: (max(values) - min(values)) / m if m else None  # noqa: E731
    allowance = spread(b, bm)
    if ratio is None:
        worse_by = None
    else:
        worse_by = ratio - 1 if better == "lower" else 1 - ratio
    separated = (min(h) > max(b)) if better == "lower" else (max(h) < min(b))
    # runs are in pair order (base i ran just before head i): in how many pairs head was the worse one
    paired = [(x, y) for x, y in zip(base, head) if x is not None and y is not None]
    worse_pairs = sum((y > x) if better == "lower" else (y < x) for x, y in paired)
    # one run a side has no spread to judge by: no verdict (the ratio is still reported)
    within = None if worse_by is None or allowance is None or len(b) < 2 else worse_by <= allowance
    return {**result, "base_median": bm, "head_median": hm, "ratio_head_vs_base": ratio, "worse_by": worse_by,
            "base_spread": spread(b, bm), "head_spread": spread(h, hm), "noise_allowance": allowance,
            "separated": separated, "head_worse_in_pairs": f"{worse_pairs}/{len(paired)}", "within_target": within}


def main() -> int:
    import signal

    # SIGTERM ends this script through its clean-up (the worktree removed, the running bench ended)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="09ef418", help="the commit before the change (default: 09ef418)")
    parser.add_argument("--only", help="comma-separated benches (default: all, in this order, non-Ray first): "
                        + ",".join(BENCHES))
    parser.add_argument("--pairs", action="append", default=[], metavar="BENCH=N",
                        help="base+head pairs for a bench (defaults: "
                        + ", ".join(f"{k}={v['pairs']}" for k, v in BENCHES.items()) + ")")
    parser.add_argument("--hold-min", type=float, default=11.0,
                        help="longest a hold of the Ray lock may be planned for, in minutes (default 11)")
    parser.add_argument("--stop-by", metavar="HH:MM",
                        help="UTC time after which no Ray pair is started (the JSON says which were not run)")
    args = parser.parse_args()
    stop_by = None
    if args.stop_by:
        import calendar

        day = time.strftime("%Y-%m-%d", time.gmtime())
        stop_by = calendar.timegm(time.strptime(f"{day} {args.stop_by}", "%Y-%m-%d %H:%M"))
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown bench: {', '.join(unknown)}")
    pairs = {k: v["pairs"] for k, v in BENCHES.items()}
    for item in args.pairs:
        key, _, value = item.partition("=")
        pairs[key] = int(value)

    base_commit = git("rev-parse", args.base)
    head_commit = git("rev-parse", "HEAD")
    dirty = [line[3:] for line in subprocess.run(["git", "status", "--porcelain", "--", "rlstudio", "bench", "resources"],
                                                 cwd=ROOT, capture_output=True, text=True).stdout.splitlines()]
    scratch = Path(tempfile.mkdtemp(prefix="rlstudio-before-after-"))
    logs = scratch / "logs"
    logs.mkdir()
    worktree = scratch / "base"
    git("worktree", "add", "--detach", str(worktree), base_commit)
    report: dict = {"base": args.base, "base_commit": base_commit, "head_commit": head_commit,
                    "head_tree": f"{ROOT} (working tree, editable install)", "head_uncommitted": dirty,
                    "interpreter": sys.executable, "logs": str(logs), "order": "base, head, base, head, ...",
                    "benches": {}, "figures": {}, "controls": {}, "not_comparable": {}}
    try:
        # what a wheel of the base would hold: its own resources as rlstudio._resources
        (worktree / "rlstudio" / "_resources").symlink_to("../resources")
        runs = {name: {"base": [], "head": []} for name in names}
        for name in list(names):
            if not (worktree / "bench" / f"{name}.py").exists():
                report["not_comparable"][name] = f"the base has no bench/{name}.py"
                names.remove(name)

        def run_pair(name: str, i: int) -> float:
            started = time.monotonic()
            for label, tree in (("base", worktree), ("head", ROOT)):
                runs[name][label].append(run_bench(name, tree, label == "base", BENCHES[name]["args"],
                                                   BENCHES[name]["timeout_s"], logs, i))
            return time.monotonic() - started

        for name in (n for n in names if not BENCHES[n]["ray"]):
            for i in range(1, pairs[name] + 1):
                run_pair(name, i)
        # Ray benches: pairs in rounds (one pair of each bench, then the next round), as many per lock hold as
        # fit in --hold-min (each pair's length estimated from the last pair of that bench), so the lock is
        # taken a few times, never for long, and others run between holds
        ray_names = [n for n in names if BENCHES[n]["ray"]]
        queue = [(n, i) for i in range(1, max([pairs[n] for n in ray_names] or [0]) + 1) for n in ray_names
                 if i <= pairs[n]]
        estimate = {n: BENCHES[n]["pair_s"] for n in ray_names}
        holds = report["lock_holds"] = []
        while queue:
            if stop_by is not None and time.time() > stop_by:
                break
            lock = RayLock(stop_by)
            log(f"waiting for {LOCK} ({len(queue)} pairs to go)")
            if not lock.acquire():
                log(f"--stop-by reached while waiting for {LOCK}")
                break
            hold = {"waited_s": round(lock.waited_s), "pairs": []}
            holds.append(hold)
            held = time.monotonic()
            try:
                while queue and (not hold["pairs"] or
                                 time.monotonic() - held + estimate[queue[0][0]] <= args.hold_min * 60):
                    name, i = queue.pop(0)
                    estimate[name] = run_pair(name, i)
                    hold["pairs"].append(f"{name}#{i}")
            finally:
                lock.release()
                hold["held_s"] = round(time.monotonic() - held)
            time.sleep(2)  # a waiting user of Ray gets its turn before this script asks again
        report["not_run"] = [f"{n}#{i}" for n, i in queue]

        for name in names:
            bench = BENCHES[name]
            done = runs[name]
            report["benches"][name] = {
                "pairs_run": len(done["head"]), "args": bench["args"], "ray_lock": bench["ray"],
                "run_s": {k: [round(r["seconds"]) for r in v] for k, v in done.items()},
                "python_children_with_tree_pythonpath": {k: [r["python_children_ok"] for r in v]
                                                         for k, v in done.items()},
                "problems": {k: [p for r in v for p in r["problems"]] for k, v in done.items()},
                "imported": {k: v[0]["imported"] if v else None for k, v in done.items()},
                "script": {k: v[0]["script"] if v else None for k, v in done.items()}}

            def values(label, key):
                return [(r["figures"] or {}).get(key) for r in done[label]]

            for key, what, better in bench["figures"]:
                report["figures"][f"{name}.{key}"] = {"what": what, **compare(values("base", key),
                                                                              values("head", key), better)}
            for key in bench["controls"]:
                report["controls"][f"{name}.{key}"] = {"base_runs": values("base", key),
                                                       "head_runs": values("head", key)}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True)
    report["head_commit_at_end"] = git("rev-parse", "HEAD")  # the working tree is shared: it may move during a run
    verdicts = [f["within_target"] for f in report["figures"].values()]
    report["all_within_target"] = (False if any(v is False for v in verdicts) else
                                   None if not verdicts or any(v is None for v in verdicts) else True)
    report["worse_beyond_noise"] = [k for k, f in report["figures"].items() if f["within_target"] is False]
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
