"""The pinned software and the Slurm profile agree with the rest of the project.

- Every version pinned in envs/*.yaml (pip and conda entries) equals constraints.txt, the one
  list of versions (torch, installed before it, is pinned by requirements.txt's install line).
- No env installs PyTorch's CPU-only build: a job given a GPU must get a torch that can use it.
- profiles/slurm names only rules that exist, gives every `threads: HEAVY` rule its threads,
  and its commented GPU block (parsed by uncommenting it) puts exactly those rules on a GPU.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ENV_FILES = sorted((ROOT / "envs").glob("*.yaml"))
SLURM_PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"

# conda package names of the same software as a PyPI name.
CONDA_ALIASES = {"pytorch": "torch", "pytorch-cpu": "torch", "pytorch-gpu": "torch"}
# The interpreter and the installer every env starts from: not in constraints.txt (which pins
# what pip installs into an interpreter); they must be the same in every env instead.
BASE = {"python", "pip"}


def normalise(name: str) -> str:
    """One spelling per package: PEP 503 (case, runs of - _ .) and conda's names of PyPI packages."""
    name = re.sub(r"[-_.]+", "-", name.strip()).lower()
    return CONDA_ALIASES.get(name, name)


def read_pins(text: str) -> dict:
    """{normalised name: version} of every ``name==version`` line of a requirements-style text."""
    pins = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][\w.\-]*)(?:\[[\w,\-]+\])?\s*==\s*([^\s;#]+)\s*(?:#.*)?", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def reference_pins() -> dict:
    """constraints.txt, plus the packages requirements.txt says to install first (torch)."""
    pins = read_pins((ROOT / "constraints.txt").read_text())
    for name, version in re.findall(r"pip install (?:-\S+ )*([\w.\-]+)==([^\s)]+)",
                                    (ROOT / "requirements.txt").read_text()):
        pins.setdefault(normalise(name), version)
    return pins


def env_pins(spec: dict) -> list:
    """(kind, normalised name, version, entry) of every package an env spec pins."""
    pins = []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for requirement in dep.get("pip", []):
                if requirement.startswith("-"):
                    continue  # an option (index URL, ...), not a package
                name, _, version = requirement.partition("==")
                pins.append(("pip", normalise(re.sub(r"\[.*\]", "", name)), version.strip(), requirement))
        else:
            # conda: name=version, name==version or name=version=build (match spec with a build string)
            match = re.fullmatch(r"([\w.\-]+)\s*==?\s*([^=\s]+)(?:=\S+)?", dep)
            name, version = (match.group(1), match.group(2)) if match else (dep, "")
            pins.append(("conda", normalise(name), version, dep))
    return pins


def pin_mismatches(specs: dict, reference: dict) -> list:
    """Every env pin that is missing from or differs from ``reference``, as readable lines."""
    problems = []
    for env, spec in specs.items():
        for kind, name, version, entry in env_pins(spec):
            if name in BASE:
                continue
            if name not in reference:
                problems.append(f"{env}: {kind} {entry!r}: {name} is not pinned in constraints.txt")
            elif version != reference[name]:
                problems.append(f"{env}: {kind} {entry!r} != constraints.txt {name}=={reference[name]}")
    return problems


def _specs() -> dict:
    return {path.name: yaml.safe_load(path.read_text()) for path in ENV_FILES}


def test_every_env_pins_the_version_constraints_txt_pins():
    assert len(ENV_FILES) >= 5
    assert pin_mismatches(_specs(), reference_pins()) == []


def test_torch_has_one_version_everywhere():
    """torch is installed before constraints.txt applies: its pins must agree wherever they are."""
    versions = {
        f"requirements.txt: {v}" for v in re.findall(r"torch==([^\s)`]+)", (ROOT / "requirements.txt").read_text())
    }
    versions |= {f"README.md: {v}" for v in re.findall(r"\btorch==([^\s)`]+)", (ROOT / "README.md").read_text())}
    constraint = read_pins((ROOT / "constraints.txt").read_text()).get("torch")
    if constraint:
        versions.add(f"constraints.txt: {constraint}")
    for env, spec in _specs().items():
        versions |= {f"{env}: {v}" for _, name, v, _ in env_pins(spec) if name == "torch"}
    assert versions and len({v.rsplit(": ", 1)[1] for v in versions}) == 1, sorted(versions)


def test_every_env_has_the_same_python_and_pip():
    base = {env: {name: version for _, name, version, _ in env_pins(spec) if name in BASE}
            for env, spec in _specs().items()}
    assert all(pins.keys() == BASE for pins in base.values()), base
    assert len({tuple(sorted(pins.items())) for pins in base.values()}) == 1, base


@pytest.mark.parametrize("drift", [
    {"pip": ["numpy==2.4.5"]},          # a pin that drifted
    {"pip": ["not-a-pinned-package==1.0"]},  # a package constraints.txt does not know
    "pytorch=2.12.1",                   # a conda pin, under conda's name
])
def test_a_drifted_pin_is_caught(drift):
    spec = {"dependencies": ["python=3.11", "pip=24.2", drift]}
    assert len(pin_mismatches({"drifted.yaml": spec}, reference_pins())) == 1


def test_names_are_compared_across_spellings():
    assert normalise("huggingface_hub") == normalise("HuggingFace-Hub") == "huggingface-hub"
    assert normalise("PyYAML") == "pyyaml" and normalise("pytorch") == "torch"
    spec = {"dependencies": ["pytorch=2.13.0", {"pip": ["HuggingFace_Hub==0.36.2", "PyYAML==6.0.3"]}]}
    assert pin_mismatches({"spellings.yaml": spec}, {"torch": "2.13.0", "huggingface-hub": "0.36.2",
                                                     "pyyaml": "6.0.3"}) == []


def cpu_only_torch(spec: dict) -> list:
    """Every entry of an env spec that would install PyTorch's CPU-only build."""
    found = [channel for channel in spec.get("channels", []) if "whl/cpu" in str(channel)]
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for requirement in dep.get("pip", []):
                if re.search(r"download\.pytorch\.org/whl/cpu|/whl/cpu\b|\+cpu\b", requirement):
                    found.append(requirement)
        elif re.match(r"(cpuonly|pytorch-cpu)\b", dep) or re.match(r"(pytorch|torch)\b.*=.*cpu", dep):
            found.append(dep)
    return found


def test_no_env_installs_the_cpu_only_torch_build():
    assert {env: cpu_only_torch(spec) for env, spec in _specs().items() if cpu_only_torch(spec)} == {}
    assert cpu_only_torch({"dependencies": [{"pip": ["--extra-index-url https://download.pytorch.org/whl/cpu"]}]})
    assert cpu_only_torch({"dependencies": ["pytorch=2.13.0=cpu_mkl*", "cpuonly"]}) == ["pytorch=2.13.0=cpu_mkl*",
                                                                                         "cpuonly"]


# The Slurm profile -----------------------------------------------------------------------------

def rule_bodies() -> dict:
    """{rule: its text} of every rule in rules/*.smk."""
    return {rule: body for path in sorted((ROOT / "rules").glob("*.smk"))
            for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", path.read_text(), re.M)}


def heavy_rules() -> set:
    return {rule for rule, body in rule_bodies().items() if re.search(r"^\s+threads: HEAVY\s*$", body, re.M)}


def commented_block(text: str, key: str) -> dict:
    """A top-level mapping the profile ships commented out (``# key:`` and its ``#   `` lines), parsed."""
    match = re.search(rf"^# {re.escape(key)}:\n(?:#   .*\n)+", text, re.M)
    return yaml.safe_load(re.sub(r"^# ?", "", match.group(0), flags=re.M))[key] if match else {}


def test_rule_parsing_finds_the_rules():
    rules = rule_bodies()
    assert len(rules) >= 20 and {"finetune_qa", "compress_pretrained", "attack"} <= set(rules)
    assert {"pretrain", "finetune_qa", "predict_qa", "embed"} <= heavy_rules() < set(rules)


def test_slurm_profile_names_only_rules_that_exist():
    text = SLURM_PROFILE.read_text()
    profile = yaml.safe_load(text)
    gpu_block = commented_block(text, "set-resources")
    named = {f"set-threads: {rule}" for rule in profile.get("set-threads", {})}
    named |= {f"set-resources: {rule}" for rule in profile.get("set-resources") or {}}
    named |= {f"# set-resources: {rule}" for rule in gpu_block}
    assert gpu_block, "the commented GPU block (# set-resources:) is missing from profiles/slurm/config.yaml"
    assert sorted(name for name in named if name.split(": ")[1] not in rule_bodies()) == []


def test_every_heavy_rule_has_its_threads_in_the_slurm_profile():
    assert set(yaml.safe_load(SLURM_PROFILE.read_text())["set-threads"]) == heavy_rules()


def test_the_commented_gpu_block_puts_every_model_rule_on_one_gpu():
    """Uncommented, the block asks Slurm for a GPU (resource `gpu`: the Slurm plugin's --gpus, and
    what miniature.runtime.job_device reads) in a GPU partition for every training/inference rule."""
    gpu_block = commented_block(SLURM_PROFILE.read_text(), "set-resources")
    assert set(gpu_block) == heavy_rules()
    for rule, resources in gpu_block.items():
        assert resources.get("gpu") == 1 and resources.get("slurm_partition"), rule
        assert not {"gres", "gpus"} & set(resources), f"{rule}: use `gpu`, which the job reads too"
        assert isinstance(resources.get("runtime"), int) and resources["runtime"] > 0, rule
