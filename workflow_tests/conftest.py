"""Fixtures shared by the workflow tests."""

import os
import shutil
import stat

import pytest
from runner import CONFIGS, copy_working_tree, run_from, snakemake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A completed run of the tiny config to the default target (Table 2, agreement, report),
    shared by the workflow tests.

    It runs the workflow from a copy of the working tree written under umask 002, as a clone
    by a regular account on Debian or Ubuntu is: every folder group-writable, which NLTK
    refuses to read data from (the attack jobs must work all the same). Every later run in
    this folder uses that copy too (runner.run_from)."""
    tree = copy_working_tree(tmp_path_factory.mktemp("clone") / "miniature")
    assert stat.S_IMODE(os.stat(tree / "miniature" / "nltk_data").st_mode) & stat.S_IWGRP
    workdir = tmp_path_factory.mktemp("tiny")
    run_from(workdir, tree)
    shutil.copy(CONFIGS / "tiny.yaml", workdir / "config.yaml")
    snakemake(workdir, "--cores", "2", "all", configfile=workdir / "config.yaml")
    return workdir
