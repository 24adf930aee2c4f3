"""`rlstudio report`: a self-contained HTML file (sections, inline charts, embedded images, nothing fetched from
the network) and a CSV of every trial, from recorded and synthetic event logs."""

import base64
import csv
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import TESTS, run_cli
from group_logs import write_group_log
from rlstudio.core import report, stats

SECTIONS = ["experiment", "plan", "curves", "aggregates", "trials", "importance", "evaluation", "policy"]


class Page(HTMLParser):
    """Everything a test needs from the report: ids, every URL-valued attribute, images, charts, text."""

    def __init__(self, text: str):
        super().__init__()
        self.ids, self.urls, self.images, self.tags, self.text = [], [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for name in ("src", "href", "xlink:href", "action", "data", "poster"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def assert_self_contained(page: Page, raw: str):
    assert not [u for u in page.urls if not u.startswith("data:")], page.urls  # no file, no http(s), no CDN
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert "http://" not in raw and "https://" not in raw and "@import" not in raw and "url(" not in raw


@pytest.fixture
def groups_folder(tmp_path):
    return write_group_log(tmp_path / "groups", configurations=4, seeds=4, iterations=40)


@pytest.fixture
def recorded_folder(tmp_path):
    folder = tmp_path / "recorded"
    folder.mkdir()
    shutil.copy(TESTS / "data" / "two_trials_stopped_resumed.jsonl", folder / "events.jsonl")
    return folder


def test_report_of_a_grouped_experiment(groups_folder, tmp_path):
    out = tmp_path / "report.html"
    html_path, csv_path = report.write_report([groups_folder], out)
    assert (html_path, csv_path) == (out, tmp_path / "report.csv")
    raw = out.read_text(encoding="utf-8")
    page = Page(raw)
    assert page.ids[:len(SECTIONS) + 1] == [*SECTIONS[:1], "spec", *SECTIONS[1:]]
    assert_self_contained(page, raw)
    assert page.tags.count("svg") == 2  # curves and importance
    assert page.tags.count("polygon") >= 4  # a band per configuration
    text = page.plain
    assert "16 trials = 4 configuration(s) × 4 seed(s)" in text
    assert "Return (mean of the last 20 episodes)" in text
    assert "seeds: 4" in raw  # the spec as run, as YAML
    # the aggregates and the verdict are those of core.stats for the same trials
    experiment = report.load_experiment(groups_folder)
    result = stats.experiment_statistics(experiment.trials)
    assert result.comparison.sentence in text
    assert "run more seeds" in text  # g0 and g1 differ only by an option that does not matter
    assert "Best configuration: lr=0.001" in text
    for s in result.summaries:
        assert f"{stats.fmt_value(s.iqm)} {stats.fmt_interval(s.iqm_ci)}" in text
    assert "From 16 trials" in text and "lr" in text  # importance computed
    assert "498.5 ± 2.5" in text and "final model" in text  # the final model's evaluation
    assert "over 20 episodes, confirmed" in text  # confirmation evaluations in the trials table
    assert "--gif" in text and not page.images  # no GIF unless asked

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert len(rows) == 16 and rows[0]["trial_id"] == "abcde_00000" and rows[0]["group"] == "g0"
    assert {r["param:lr"] for r in rows} == {"0.001", "0.0003"} and {r["seed"] for r in rows} == {"0", "1", "2", "3"}
    by_trial = {t.trial_id: stats.final_return(t) for t in experiment.trials}
    for r in rows:
        value, source = by_trial[r["trial_id"]]
        assert float(r["final_return"]) == pytest.approx(value) and r["final_return_source"] == source
    assert {r["final_return_source"] for r in rows} == {"evaluation", "window"}


def test_report_of_an_older_log_and_a_comparison_through_the_command_line(groups_folder, recorded_folder, tmp_path):
    out = tmp_path / "both.html"
    proc = run_cli("report", groups_folder, recorded_folder, "-o", out, "--csv", tmp_path / "trials.csv",
                   "--x", "time_s", "--by", "mean", "--results-csv", tmp_path / "results.csv")
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    raw = out.read_text(encoding="utf-8")
    page = Page(raw)
    assert_self_contained(page, raw)
    assert "comparison" in page.ids
    for name in SECTIONS:
        assert f"{name}-1" in page.ids and f"{name}-2" in page.ids
    text = page.plain
    assert "Mean return per iteration (RLlib)" in text  # the older log has no windowed return
    assert "1 seed per configuration" in text and "Too few finished trials" in text
    assert "Wall time (s)" in text and "Best configuration: experiment=groups, lr=0.001, num_epochs=2 — mean" in text
    rows = list(csv.DictReader(io.StringIO((tmp_path / "trials.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 18 and {r["experiment"] for r in rows} == {"groups", "small"}
    assert {r["final_return_source"] for r in rows if r["experiment"] == "small"} == {"iteration mean"}
    results = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text(encoding="utf-8"))))
    experiment = report.load_experiment(groups_folder)
    older = report.load_experiment(recorded_folder)
    assert len(results) == sum(len(t.results) for e in (experiment, older) for t in e.trials)
    first = experiment.trials[0].results[0]
    assert results[0]["trial_id"] == experiment.trials[0].trial_id and results[0]["iteration"] == "1"
    assert results[0]["episode_returns"] == ";".join(str(v) for v in first["episode_returns"])


def test_a_folder_that_is_not_an_experiment_gets_a_message(tmp_path):
    proc = run_cli("report", tmp_path, "-o", tmp_path / "r.html")
    assert proc.returncode == 2 and "not an RL Studio experiment folder" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r.html").exists()
    (tmp_path / "events.jsonl").write_text("")
    proc = run_cli("report", tmp_path, "-o", tmp_path / "missing" / "r.html")
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_an_embedded_gif_decodes(groups_folder, tmp_path, monkeypatch):
    """--gif embeds what the rollout recorded as a data: URI (the rollout itself: test_report_gif_of_a_real_run)."""
    import imageio.v3 as iio
    import numpy as np

    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    frames[1] = 255
    gif = iio.imwrite("<bytes>", frames, extension=".gif")
    asked = []
    (groups_folder / "final_model").mkdir()
    monkeypatch.setattr(report, "record_gif", lambda checkpoint: (asked.append(checkpoint) or gif, "one episode"))
    out = tmp_path / "r.html"
    report.write_report([groups_folder], out, gif=True)
    page = Page(out.read_text(encoding="utf-8"))
    [src] = page.images
    assert src.startswith("data:image/gif;base64,")
    decoded = base64.b64decode(src.split(",", 1)[1])
    assert decoded[:4] == b"GIF8" and iio.imread(decoded, index=None).shape[:3] == (2, 8, 8)
    assert asked == [str(groups_folder / "final_model")]  # the final model is the policy shown


def test_without_a_final_model_the_best_runs_checkpoint_is_recorded(tmp_path):
    folder = write_group_log(tmp_path / "g", configurations=2, seeds=3, iterations=30, final_model=False)
    experiment = report.load_experiment(folder)
    comparison = stats.experiment_statistics(experiment.trials).comparison
    assert report.best_checkpoint(experiment, comparison) is None  # the log names checkpoints that are not there
    for t in experiment.trials:
        Path(t.last_checkpoint).mkdir(parents=True)
    path = report.best_checkpoint(experiment, comparison)
    best_run = max(comparison.best.trial_ids, key=lambda tid: stats.final_return(experiment.state.trials[tid])[0])
    assert path == experiment.state.trials[best_run].last_checkpoint


def test_nice_ticks():
    assert report.nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert report.nice_ticks(-3, 480, 5) == [0, 100, 200, 300, 400]
    assert report.nice_ticks(0.0012, 0.0049, 3) == [0.002, 0.004]  # step 0.0037 / 3 rounded up to 0.002
    assert report.nice_ticks(5, 5) == [5]


@pytest.mark.ray
def test_report_gif_of_a_real_run(tmp_path_factory, ray_session, tmp_path):
    from rollout_helpers import trained_experiment

    import imageio.v3 as iio

    trained = trained_experiment(tmp_path_factory, ray_session)
    # a copy: the rollout is stored among the experiment's evaluations, and other tests read the shared folder
    folder = tmp_path / trained.name
    shutil.copytree(trained, folder)
    log = folder / "events.jsonl"
    log.write_text(log.read_text().replace(str(trained), str(folder)))
    out = tmp_path / "r.html"
    proc = run_cli("report", folder, "-o", out, "--gif", timeout=300)
    assert proc.returncode == 0, proc.stderr
    [src] = Page(out.read_text(encoding="utf-8")).images
    frames = iio.imread(base64.b64decode(src.split(",", 1)[1]), index=None)
    assert frames.shape[0] > 5 and frames.shape[-1] in (3, 4)
    assert str(trained) not in (folder / "events.jsonl").read_text()  # the shared folder was left alone


def test_making_a_report_needs_neither_ray_nor_qt(groups_folder, tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfor m in ('ray', 'torch', 'PySide6'): sys.modules[m] = None\n"
            "from rlstudio.cli import main\n"
            f"assert main(['report', {str(groups_folder)!r}, '-o', {str(tmp_path / 'r.html')!r}]) == 0\n"
            "print(sorted(m for m in ('ray', 'torch', 'PySide6', 'sklearn') if sys.modules.get(m)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("[]") and (tmp_path / "r.html").exists()


def test_report_of_a_real_two_configurations_two_seeds_run(tmp_path):
    """A real log (PPO CartPole, lr 0.002 and 0.0003 × seeds 0 and 1, 6 iterations; rlstudio run, 2026-12-02)."""
    folder = tmp_path / "real"
    folder.mkdir()
    shutil.copy(TESTS / "data" / "two_configs_two_seeds.jsonl", folder / "events.jsonl")
    out = tmp_path / "real.html"
    report.write_report([folder], out)
    raw = out.read_text(encoding="utf-8")
    page = Page(raw)
    assert_self_contained(page, raw)
    text = page.plain
    assert "4 trials = 2 configuration(s) × 2 seed(s)" in text
    assert "Return (mean of the last 20 episodes)" in text
    experiment = report.load_experiment(folder)
    assert [(t.group, t.seed) for t in experiment.trials] == [("g0", 0), ("g0", 1), ("g1", 0), ("g1", 1)]
    summaries = stats.group_summaries(experiment.trials)
    assert [(s.group, s.config, s.runs) for s in summaries] == [("g0", {"lr": 0.002}, 2), ("g1", {"lr": 0.0003}, 2)]
    for s in summaries:  # the final return is each run's last windowed return
        runs = [t for t in experiment.trials if t.group == s.group]
        assert s.finals == [t.results[-1]["return_window"] for t in runs] and set(s.sources) == {"window"}
        assert s.mean == pytest.approx(sum(s.finals) / 2) and s.iqm == s.mean  # 2 runs: nothing trimmed
    assert "not distinguishable with 2 seeds" in text and "narrower than the truth" in text
    assert page.tags.count("polygon") == 2  # a band per configuration


def test_the_same_experiment_twice_is_told_apart_by_folder(tmp_path):
    a = write_group_log(tmp_path / "run-a", 2, 2, 25)
    b = write_group_log(tmp_path / "run-b", 2, 2, 25, seed=1)
    out = tmp_path / "r.html"
    report.write_report([a, b], out)
    text = Page(out.read_text(encoding="utf-8")).plain
    assert "run-a/g0" in text and "run-b/g0" in text


def test_a_run_that_failed_before_any_trial(tmp_path):
    folder = tmp_path / "failed"
    folder.mkdir()
    (folder / "events.jsonl").write_text(
        '{"event": "experiment_started", "time": 1800000000, "name": "e", "spec": {"name": "e"}, "planned_trials": 2}\n'
        '{"event": "runner_error", "time": 1800000001, "message": "each trial needs 5 CPUs"}\n')
    out = tmp_path / "r.html"
    report.write_report([folder], out)
    text = Page(out.read_text(encoding="utf-8")).plain
    assert "The run failed: each trial needs 5 CPUs" in text
    assert "No results to draw yet." in text and "No trial has a final return yet." in text
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").startswith("experiment,trial_id")
