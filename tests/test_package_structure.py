"""The package's shape: its modules import each other without cycles, and importing any of them
changes nothing outside the process (a job's environment, its log files, the account's files)."""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "miniature"
MODULES = sorted(f"miniature.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__")


def imported_modules(module: str) -> set[str]:
    """The package's modules that ``module`` imports anywhere in its text: at the top, inside
    functions, under ``if TYPE_CHECKING``; an import run late is still a dependency."""
    tree = ast.parse((PACKAGE / f"{module.split('.')[-1]}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the package (the package has no subpackages)
                base = "miniature" + (f".{base}" if base else "")
            # ``from miniature import data`` names a module; ``from miniature.data import x`` its member.
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                         for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the list of its nodes (the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for successor in sorted(graph[node]):
            cycle = visit(successor, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_find_cycle_names_the_modules_in_the_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_among_the_package_modules():
    graph = {module: imported_modules(module) for module in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# Variables that libraries the package uses set when they are imported: theirs, and set in
# every model job all the same. scikit-learn sets OpenMP's KMP_* defaults (transformers imports
# it where it is installed); torch._dynamo (imported by transformers' model classes) sets
# TORCHINDUCTOR_CACHE_DIR.
LIBRARY_VARIABLES = {"KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK", "TORCHINDUCTOR_CACHE_DIR"}

# Run in one fresh interpreter: a job's logging set up first (a log file on the root logger and
# one on a named logger), then every module imported in turn; after each import it records what
# changed since the one before (environment variables, loggers disabled, log files closed, files
# made under HOME or the working folder), so a change is named by the import that made it. One
# interpreter for all modules: a fresh one per module would cost seconds each for torch alone.
IMPORT_EACH_AND_REPORT = textwrap.dedent("""
    import importlib, json, logging, os, sys
    sys.path.insert(0, sys.argv[1])
    modules, folders = json.loads(sys.argv[2]), sys.argv[5:]
    logging.basicConfig(level=logging.INFO, handlers=[logging.FileHandler(sys.argv[3])])
    job = logging.getLogger("job")
    job.addHandler(logging.FileHandler(sys.argv[4]))
    logging.getLogger("job.stage")  # a child with no handler of its own
    loggers = [logging.root] + [logger for logger in logging.root.manager.loggerDict.values()
                                if isinstance(logger, logging.Logger)]

    def files():
        return {os.path.join(d, f) for folder in folders for d, _, names in os.walk(folder) for f in names}

    before_environ, before_files, report = dict(os.environ), files(), {}
    for module in modules:
        importlib.import_module(module)
        after_files = files()
        report[module] = {
            "environ": sorted(k for k in before_environ.keys() | os.environ.keys()
                              if before_environ.get(k) != os.environ.get(k)),
            "disabled": [logger.name for logger in loggers if logger.disabled],
            "closed": [handler.baseFilename for logger in loggers for handler in logger.handlers
                       if isinstance(handler, logging.FileHandler) and handler.stream is None],
            "files": sorted(after_files - before_files),
        }
        before_environ, before_files = dict(os.environ), after_files
    print(json.dumps(report))
""")


def test_importing_a_module_changes_nothing_outside_the_process(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NLTK_DATA", "HF_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TA_CACHE_DIR=str(home), PYTHONDONTWRITEBYTECODE="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               # Any connection attempt goes to a closed local port and fails at once.
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", no_proxy="")
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH_AND_REPORT, str(ROOT), json.dumps(MODULES),
                             str(tmp_path / "root.log"), str(tmp_path / "job.log"), str(home), str(cwd)],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(report) == MODULES
    changed = {}
    for module, changes in report.items():
        changes["environ"] = [name for name in changes["environ"] if name not in LIBRARY_VARIABLES]
        if any(changes.values()):
            changed[module] = {what: found for what, found in changes.items() if found}
    assert changed == {}, f"importing these modules changed something outside the process: {changed}"
