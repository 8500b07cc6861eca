"""Safety properties of the code base itself: no remote code, no pickles, pinned hub sources,
no shell strings. These scan the sources, so a change that breaks a rule fails here."""

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sorted([*(ROOT / "miniature").rglob("*.py"), *(ROOT / "scripts").glob("*.py"),
                 *(ROOT / "benchmarks").glob("*.py")])
WORKFLOW = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
CONFIGS = [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]


def _calls(path, name):
    """Every call of ``<something>.name(...)`` or ``name(...)`` in a Python file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            if ((isinstance(func, ast.Attribute) and func.attr == name)
                    or (isinstance(func, ast.Name) and func.id == name)):
                yield node


def _keyword(call, name):
    value = next((k.value for k in call.keywords if k.arg == name), None)
    return value.value if isinstance(value, ast.Constant) else value


def _receiver(call):
    value = call.func.value if isinstance(call.func, ast.Attribute) else call.func
    return value.id if isinstance(value, ast.Name) else ast.unparse(value)


def test_scan_covers_the_package():
    assert ROOT / "miniature" / "model_io.py" in PYTHON and len(WORKFLOW) > 3


def test_remote_code_is_never_trusted():
    pattern = re.compile(r"trust_remote_code\s*=\s*(?!False\b)")
    assert [f"{p.name}:{n}" for p in PYTHON + WORKFLOW
            for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)] == []


def test_every_from_pretrained_refuses_remote_code_and_models_load_safetensors():
    calls = [(path, call) for path in PYTHON for call in _calls(path, "from_pretrained")]
    assert len(calls) >= 5
    unsafe = []
    for path, call in calls:
        where = f"{path.name}:{call.lineno}"
        if _keyword(call, "trust_remote_code") is not False:
            unsafe.append(f"{where}: pass trust_remote_code=False")
        receiver = _receiver(call)
        if "Tokenizer" not in receiver and "Config" not in receiver and _keyword(call, "use_safetensors") is not True:
            unsafe.append(f"{where}: pass use_safetensors=True")  # anything but a tokenizer or config loads weights
    assert unsafe == []


def test_no_unpickling():
    unsafe = [p.name for p in PYTHON if re.search(r"^\s*(import|from)\s+(pickle|dill|joblib)\b", p.read_text(), re.M)]
    unsafe += [f"{p.name}:{call.lineno}: torch.load needs weights_only=True" for p in PYTHON
               for call in _calls(p, "load")
               if _receiver(call) == "torch" and _keyword(call, "weights_only") is not True]
    assert unsafe == []


def _hub_sources(node, field=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "hub":
                yield field, value
            else:
                yield from _hub_sources(value, f"{field}.{key}" if field else key)


def test_hub_sources_are_pinned_to_commits():
    sources = [(path.name, field, hub) for path in CONFIGS
               for field, hub in _hub_sources(yaml.safe_load(path.read_text()))]
    assert len(sources) >= 6  # the paper's models and data
    assert [f"{name}: {field}.hub" for name, field, hub in sources
            if not re.fullmatch(r"[0-9a-f]{40}", str(hub.get("revision", "")))] == []


def _directives(path):
    """(rule, directive) for every directive of every rule in a Snakemake file."""
    rule = None
    for line in path.read_text().splitlines():
        if m := re.match(r"^(?:rule|checkpoint)\s+(\w+)\s*:", line):
            rule = m.group(1)
        elif m := re.match(r"^\s{4}(\w+)\s*:", line):
            yield rule, m.group(1)


def test_rules_run_scripts_not_shell_strings():
    # A shell: directive formats a command line from params/config values; one odd value
    # (a model key, a path with a quote) could run anything. Every job runs a script instead.
    directives = [(path.name, rule, d) for path in WORKFLOW for rule, d in _directives(path)]
    rules = {(f, r) for f, r, _ in directives if r not in (None, "all")}
    assert len(rules) >= 10
    assert [(f, r) for f, r, d in directives if d in ("shell", "run")] == []
    assert rules == {(f, r) for f, r, d in directives if d == "script"}
