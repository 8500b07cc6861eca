"""The workflow's code: Snakemake's linter, snakefmt and ruff are clean, every rule has a pinned env."""

import re
import subprocess
import sys

import yaml
from runner import ROOT, snakemake

RULE_FILES = sorted((ROOT / "rules").glob("*.smk"))


def test_snakemake_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint", configfile=ROOT / "config.yaml", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_leaves_every_snakemake_file_unchanged():
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    """Python style and common bugs (rules and exceptions in pyproject.toml)."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _rule_envs():
    """(rule, conda env path relative to the rule file) of every rule in rules/."""
    envs = []
    for path in RULE_FILES:
        for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M):
            env = re.search(r"^    conda:\n\s+\"([^\"]+)\"", body, re.M)
            envs.append((rule, (path.parent / env.group(1)).resolve() if env else None))
    return envs


def test_every_rule_has_a_conda_env_file_that_exists():
    envs = _rule_envs()
    assert len(envs) >= 13
    assert [rule for rule, env in envs if env is None or not env.is_file()] == []


def test_every_conda_env_pins_every_package():
    env_files = sorted((ROOT / "envs").glob("*.yaml"))
    assert {env for _, env in _rule_envs()} <= set(env_files)
    for path in env_files:
        spec = yaml.safe_load(path.read_text())
        assert spec["channels"] and "defaults" not in spec["channels"], path.name
        for dep in spec["dependencies"]:
            if isinstance(dep, dict):
                for requirement in dep["pip"]:
                    assert requirement.startswith("--") or re.fullmatch(r"[\w.\-\[\]]+==[\w.+]+", requirement), \
                        f"{path.name}: pip requirement {requirement!r} is not pinned with =="
            else:
                assert re.fullmatch(r"[\w.\-]+=[\w.*]+", dep), f"{path.name}: {dep!r} is not pinned"
