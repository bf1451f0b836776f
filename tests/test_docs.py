"""The README is a newcomer's first hour (issue 21): the answer first, short, and every command in it real;
docs/ holds the rest, and the configuration reference names every key of the schema."""
from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from socinf_runner import socinf_many

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOPICS = ("configuration", "data", "protocols", "remote", "sweeps", "reports", "measured", "benchmarks")


def test_the_readme_starts_with_the_answer_and_stays_short():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    first_screen = "\n".join(lines[:40])
    for needed in ("leak its training data", "make install", "make test", "socinf run dataset=tweet target=xgboost",
                   "STRONGEST by AUC", "report: socinf report"):
        assert needed in first_screen, needed
    for section in ("## Audit your own model from Python", "## Data", "## Commands", "## Read more"):
        assert section in lines, section
    assert [s for s in lines if s.startswith("## ")] == ["## Audit your own model from Python", "## Data",
                                                         "## Commands", "## Read more"]
    for variable in ("SOCINF_DATA", "SOCINF_DATA_DIR", "dataset=text", "dataset=csv"):
        assert variable in README.read_text(), variable


def test_every_docs_page_the_readme_links_exists_and_every_topic_has_one():
    linked = set(re.findall(r"docs/([\w-]+)\.md", README.read_text()))
    assert set(TOPICS) <= linked, set(TOPICS) - linked
    missing = [p for p in sorted(linked) if not (ROOT / "docs" / f"{p}.md").is_file()]
    assert not missing, missing
    for page in (ROOT / "docs").glob("*.md"):  # a page points only at pages that exist
        for other in set(re.findall(r"docs/([\w-]+)\.md", page.read_text())):
            assert (ROOT / "docs" / f"{other}.md").is_file(), (page.name, other)


def test_the_configuration_reference_names_every_key_of_the_schema():
    from socinf_cli.config import SocinfConfig

    text = (ROOT / "docs" / "configuration.md").read_text()
    keys = [f.name for f in dataclasses.fields(SocinfConfig) if f.name not in SocinfConfig.groups]
    keys += [f"{group}.{f.name}" for group, cls in SocinfConfig.groups.items() for f in dataclasses.fields(cls)
             if f.init]
    missing = [key for key in keys if f"`{key}`" not in text]
    assert not missing, missing


def readme_commands() -> list[list[str]]:
    """Every `socinf ...` command line of the README's shell blocks (continuations joined, comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["socinf"]:
                commands.append(words[1:])
    return commands


def _checked(args: list[str]) -> list[str]:
    """The command, made to parse without doing work: `run` composes and validates (--dry-run; a sweep: every
    job), `serve` composes (--cfg job), the other commands answer --help."""
    if args[0] == "run":
        return args if "--dry-run" in args else [*args, "--dry-run"]
    if args[0] == "serve":
        return [*args, "--cfg", "job"]
    return [*args, "--help"]


@pytest.mark.slow
def test_every_command_in_the_readme_parses(tmp_path):
    commands = readme_commands()
    assert len(commands) >= 12 and {c[0] for c in commands} == {"run", "report", "serve", "export", "data"}
    checked = [_checked(args) for args in commands]
    for args, proc in zip(checked, socinf_many(checked, tmp_path, env_extra={"SOCINF_DATA": str(tmp_path / "home")})):
        assert proc.returncode == 0 and "error" not in proc.stderr, (args, proc.stderr[-1000:])
    assert list(tmp_path.iterdir()) == []  # composing, planning and help write nothing
