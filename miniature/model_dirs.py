"""Model folders as the workflow finds them: whether one is safe to load, and where a model
shipped in an installed package lies.

Light enough to run while the workflow is parsed (no torch, no transformers): the parse-time
checks of the config's inputs (:mod:`miniature.inputs`) and the model jobs use the same checks.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

from miniature.errors import ModelError, PackageNotInstalled
from miniature.files import damaged, is_output

# The weights file of every model folder the workflow writes (an int8 one too), and the one
# pickle weights file a fetch converts to it (see miniature.model_io.fetch_model).
SAFE_WEIGHTS = "model.safetensors"
PICKLE_WEIGHTS = "pytorch_model.bin"


def _asks_for_code(config_file: Path) -> bool:
    if not config_file.is_file():
        return False
    try:
        return "auto_map" in json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def check_model_dir(path: str | Path, name: str | None = None, convertible: bool = False) -> None:
    """Refuse folders that would need pickled weights or repository code to load.

    ``convertible``: a folder whose only weights are one ``pytorch_model.bin`` passes too,
    because fetching it converts that file to safetensors with torch's restricted unpickler
    (tensors and plain containers only); the parse-time checks of fetch sources use this.
    Every other caller keeps the default, as every later stage loads safetensors only.
    """
    path = Path(path)
    name = name or str(path)
    if not path.is_dir():
        raise ModelError(f"{name}: no such folder" if not path.exists() else f"{name}: not a folder")
    if not (path / "config.json").is_file():
        raise ModelError(f"{name}: no config.json (not a save_pretrained folder)")
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        if is_output(path):
            raise ModelError(damaged(f"{name}/config.json", f"not valid JSON: {e}", remove=name)) from None
        raise ModelError(f"{name}: config.json is not valid JSON ({e})") from None
    for config_file in ("config.json", "tokenizer_config.json"):
        if _asks_for_code(path / config_file):
            raise ModelError(f"{name}: its {config_file} asks for custom code (auto_map); "
                             "miniature never runs remote code")
    if not any(path.glob("*.safetensors")):
        if convertible and (path / PICKLE_WEIGHTS).is_file():
            return
        pickles = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        if pickles:
            raise ModelError(f"{name}: only pickle weights ({', '.join(pickles)}); convert them to safetensors")
        raise ModelError(f"{name}: no weights (*.safetensors)")


def package_folder(name: str, version: str, folder: str) -> Path:
    """A folder inside an installed distribution, found from its metadata (its code is not imported)."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise PackageNotInstalled(f"package {name} is not installed: pip install --no-deps {name}=={version}") \
            from None
    if distribution.version != version:
        raise ModelError(f"package {name} {distribution.version} is installed, the config asks for {version}: "
                         f"pip install --no-deps {name}=={version}")
    path = Path(distribution.locate_file(folder))
    if not path.is_dir():
        raise ModelError(f"package {name}=={version} has no folder {folder!r}")
    return path
