"""Fixtures shared by the workflow tests."""

import shutil

import pytest

from runner import CONFIGS, snakemake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A completed run of the tiny config to the default target (Table 2, agreement, report),
    shared by the workflow tests."""
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(CONFIGS / "tiny.yaml", workdir / "config.yaml")
    snakemake(workdir, "--cores", "2", "all", configfile=workdir / "config.yaml")
    return workdir
