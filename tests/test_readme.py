"""The README's set-up commands are the ones CI runs and the ones that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert "rlstudio" in run and "pip install" in run
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == test


def test_every_subcommand_in_the_readme_exists():
    from rlstudio.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = (ROOT / "README.md").read_text()
    for name in re.findall(r"^rlstudio (\w[\w-]*)", text, flags=re.M):
        assert name in sub.choices, name
