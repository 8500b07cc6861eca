"""Reading and writing model folders: fetching them, saving and loading them safely, checking and
describing their weights (whether a folder is safe to load at all: :mod:`miniature.model_dirs`).

Every model the workflow compares is first materialised as a ``save_pretrained`` folder
(safetensors weights + tokenizer) of an ``AutoModelForPreTraining`` checkpoint, so that
the masked-LM head stays available (the attack uses it) and every later stage loads all
models the same way. Loading never runs repository code and never unpickles weights; a
pickle-only checkpoint is converted once, when it is fetched, by torch's restricted unpickler.
An int8 model's folder holds its int8 weights (see :mod:`miniature.int8`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoConfig

from miniature import data, files, int8
from miniature.errors import ModelError
from miniature.files import damaged
from miniature.model_dirs import PICKLE_WEIGHTS, SAFE_WEIGHTS, check_model_dir, package_folder

log = logging.getLogger(__name__)

# --- loading and saving ----------------------------------------------------------------------

COMPRESSION_FILE = "compression.json"  # the recipe of a model made by miniature.compress
# The weights a fetched model did not come with (its pre-training heads, newly initialised):
# an untrained masked-LM head would make the attack propose random words.
NEW_WEIGHTS_FILE = "new_weights.json"


def compression_recipe(path: str | Path) -> dict | None:
    """The compression recipe a model folder was made with, or None."""
    recipe = Path(path) / COMPRESSION_FILE
    return json.loads(recipe.read_text()) if recipe.is_file() else None


def load_model(model_class, path: str | Path, **kwargs):
    """``model_class.from_pretrained`` on a local folder: safetensors only, no remote code.

    An int8 folder (see :mod:`miniature.int8`) is rebuilt from its int8 tensors.
    """
    check_model_dir(path)
    try:
        if (compression_recipe(path) or {}).get("method") == "dynamic_int8":
            return int8.load_int8(model_class, path)
        return model_class.from_pretrained(str(path), use_safetensors=True, trust_remote_code=False, **kwargs)
    except SafetensorError as e:  # truncated or overwritten weights
        weights = weights_file(path)
        raise ModelError(damaged(weights if weights.is_file() else path, f"unreadable safetensors: {e}",
                                 remove=path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(damaged(Path(path) / COMPRESSION_FILE, f"not valid JSON: {e}", remove=path)) from None
    except (OSError, EOFError) as e:
        raise ModelError(damaged(path, f"{type(e).__name__}: {e}", remove=path)) from None


# Files one of which every tokenizer folder has (fast, WordPiece, SentencePiece, BPE).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "vocab.json")


def load_tokenizer(path: str | Path):
    """The tokenizer saved in a model folder; a missing or unreadable one is an error that
    names the folder (and what to delete), not a traceback from inside transformers."""
    if not any((Path(path) / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(damaged(path, f"no tokenizer: none of {', '.join(TOKENIZER_FILES)}", remove=path))
    # Imported here: Auto tokenizer/model classes load generation code (~2 s) that the tokenizer job never uses.
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except Exception as e:
        raise ModelError(damaged(path, f"its tokenizer cannot be loaded: {type(e).__name__}: {e}",
                                 remove=path)) from None


def save_model(model, tokenizer, path: str | Path, json_files: dict | None = None) -> None:
    """Save model (safetensors; an int8 model as its int8 tensors, see :mod:`miniature.int8`) and
    tokenizer, plus ``{name: object}`` JSON files, as one folder, renamed into place only when complete."""
    with files.atomic_dir(path) as tmp:
        if int8.int8_linears(model):
            int8.write_int8(model, tmp)
        else:
            model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name, obj in (json_files or {}).items():
            data.write_json(obj, tmp / name)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_file(folder: str | Path) -> Path:
    """The weights file a config's ``sha256`` names: ``model.safetensors``, or, in a folder that
    holds only pickle weights, the ``pytorch_model.bin`` that fetching converts (the file the
    user got and can hash; the converted file's bytes depend on the safetensors writer)."""
    folder = Path(folder)
    if not (folder / SAFE_WEIGHTS).is_file() and (folder / PICKLE_WEIGHTS).is_file():
        return folder / PICKLE_WEIGHTS
    return folder / SAFE_WEIGHTS


def _check_sha256(weights: Path, actual: str, expected: str) -> None:
    if actual != expected:
        raise ModelError(f"{weights}: sha256 {actual} does not match the expected {expected}; "
                         "these are not the weights the config names, refusing to use them")


def verify_weights(folder: str | Path, sha256: str) -> None:
    """Stop unless the folder's weights file (see :func:`weights_file`) has exactly the expected sha256."""
    weights = weights_file(folder)
    if not weights.is_file():
        raise ModelError(f"{weights}: not found, so its sha256 cannot be checked")
    _check_sha256(weights, sha256_of(weights), sha256)


# --- pickle-only checkpoints: converted once, at fetch time, with torch's restricted unpickler ---

# Where a converted model records the pickle it came from (file name, sha256, source).
CONVERTED_FILE = "converted_from.json"


def local_pickle_weights(folder: str | Path) -> Path | None:
    """The folder's ``pytorch_model.bin`` when that is its only weights file (to be converted), else None."""
    weights = weights_file(folder)
    return weights if weights.name == PICKLE_WEIGHTS and weights.is_file() else None


def hub_pickle_weights(repo_id: str, revision: str) -> Path | None:
    """The local copy of a hub repo's ``pytorch_model.bin`` when the repo (at ``revision``) has no
    ``model.safetensors``, else None (safetensors present, or neither file: the ordinary path).

    ``model.safetensors`` is tried first, so a repo that has it is never unpickled. Both calls
    go through ``hf_hub_download``, so they work against the hub, a mirror (``HF_ENDPOINT``)
    and a hub cache with ``HF_HUB_OFFLINE=1`` (where an uncached file raises
    ``LocalEntryNotFoundError``, a subclass of ``EntryNotFoundError``).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        hf_hub_download(repo_id, SAFE_WEIGHTS, revision=revision)
        return None
    except EntryNotFoundError:
        pass
    try:
        return Path(hf_hub_download(repo_id, PICKLE_WEIGHTS, revision=revision))
    except EntryNotFoundError:
        return None


def read_pickle_weights(pickle_file: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """A ``pytorch_model.bin`` state dict and the sha256 of exactly the bytes it was read from.

    ``torch.load(weights_only=True)`` is torch's restricted unpickler: it builds tensors and
    plain containers only and refuses any other global, so a pickle that would run code is
    refused before any of it runs (an explicit ``weights_only=True`` cannot be overridden by
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``). The file is read once into memory, so the hash
    and the weights cannot come from two different versions of it.
    """
    pickle_file = Path(pickle_file)
    raw = pickle_file.read_bytes()
    try:
        state = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except Exception as error:  # pickle.UnpicklingError for what it refuses; anything for a damaged file
        raise ModelError(f"{pickle_file}: refused, torch's restricted unpickler (tensors and plain containers "
                         f"only) cannot read it, and nothing in it was run ({_unpickler_reason(error)})") from None
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"{pickle_file}: not a state dict (a mapping of parameter names to tensors)")
    return state, hashlib.sha256(raw).hexdigest()


def _unpickler_reason(error: Exception) -> str:
    """The line of torch's long weights-only error that says what the pickle asked for
    (e.g. ``Unsupported global: GLOBAL os.system``), without its advice to load it unrestricted;
    any other error (a damaged file) as it is."""
    _, found, rest = str(error).partition("WeightsUnpickler error:")
    if not found:
        return f"{type(error).__name__}: {error}"
    reasons = [line.strip() for line in rest.splitlines() if line.strip()]
    return reasons[0].split(". ")[0] if reasons else "no reason given"


def write_safetensors(state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Write a state dict as safetensors. Each tensor gets its own contiguous copy, because
    safetensors refuses tensors that share storage (tied embeddings, views); the ``pt`` format
    tag is what ``from_pretrained`` requires of a safetensors file."""
    from safetensors.torch import save_file

    save_file({k: v.detach().clone().contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})


def convert_pickle_folder(pickle_file: str | Path, config, tokenizer, folder: str | Path, source: str,
                          sha256: str | None = None) -> dict:
    """Make ``folder`` a safetensors copy of a pickle-only checkpoint (config, tokenizer,
    ``model.safetensors``), so the model then loads through the one safetensors-only path;
    returns the record of the conversion (file, sha256, source) for :data:`CONVERTED_FILE`.
    ``sha256``: the expected hash of the pickle, checked on the bytes that are converted."""
    state, digest = read_pickle_weights(pickle_file)
    if sha256 is not None:
        _check_sha256(Path(pickle_file), digest, sha256)
    folder = Path(folder)
    write_safetensors(state, folder / SAFE_WEIGHTS)
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    log.info("%s: converted %s (sha256 %s) to safetensors", source, PICKLE_WEIGHTS, digest)
    return {"file": PICKLE_WEIGHTS, "sha256": digest, "source": source}


def fetch_model(out_dir: str | Path, hub: dict | None = None, path: str | None = None, package: dict | None = None,
                sha256: str | None = None, seed: int = 0) -> None:
    """Materialise a hub model (pinned revision), a local folder or a folder shipped in an
    installed package as a pre-training checkpoint.

    A source without pre-training heads (e.g. a sentence-transformers ``BertModel``) gets
    new, seeded heads; fine-tuning replaces them with a task head anyway.

    A source whose only weights are ``pytorch_model.bin`` (e.g. Google's small BERTs) is
    converted to safetensors in a temporary folder first (:func:`convert_pickle_folder`), and
    the output records the pickle's sha256 in :data:`CONVERTED_FILE`; ``sha256`` then names
    the pickle (see :func:`weights_file`).
    """
    from transformers import AutoModelForPreTraining, AutoTokenizer  # see load_tokenizer

    if hub is not None:
        source, extra = hub["id"], {"revision": hub["revision"]}
        described = f"{hub['id']}@{hub['revision']}"
    else:
        source, extra = str(path if path is not None else package_folder(**package)), {}
        described = source
        check_model_dir(source, convertible=True)
        if sha256 is not None:
            verify_weights(source, sha256)
            log.info("%s: sha256 %s as expected", weights_file(source), sha256)
    config = AutoConfig.from_pretrained(source, trust_remote_code=False, **extra)
    if getattr(config, "auto_map", None):
        raise ModelError(f"{source}: its config asks for custom code (auto_map); miniature never runs remote code")
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **extra)
    pickle_file = hub_pickle_weights(source, **extra) if hub is not None else local_pickle_weights(source)
    json_files = {}
    with tempfile.TemporaryDirectory(prefix="miniature-converted-") as converted:
        if pickle_file is not None:
            json_files[CONVERTED_FILE] = convert_pickle_folder(pickle_file, config, tokenizer, converted,
                                                               described, sha256)
            source, extra = converted, {}
        torch.manual_seed(seed)
        model, info = AutoModelForPreTraining.from_pretrained(source, use_safetensors=True, trust_remote_code=False,
                                                              output_loading_info=True, **extra)
        new = sorted(info["missing_keys"])
        if new:
            log.info("%s has no pre-training heads; new ones: %s", described, ", ".join(new))
            json_files[NEW_WEIGHTS_FILE] = new
        save_model(model, tokenizer, out_dir, json_files=json_files or None)  # before the converted file goes


def load_masked_lm(path: str | Path):
    """A model with its masked-LM head, refused when that head was newly initialised when the
    model was fetched (a sentence encoder's weights, say): it was never trained to fill in words."""
    recorded = Path(path) / NEW_WEIGHTS_FILE
    new = json.loads(recorded.read_text()) if recorded.is_file() else []
    untrained = [k for k in new if k.startswith("cls.predictions")]
    if untrained:
        raise ModelError(f"{path}: its masked-LM head was not in the weights it was fetched from "
                         f"({', '.join(untrained)} are untrained); the attack needs a model pre-trained "
                         "with masked-LM (set attack.masked_lm to one)")
    from transformers import AutoModelForMaskedLM  # see load_tokenizer

    return load_model(AutoModelForMaskedLM, path)


def weights_summary(folder: str | Path) -> dict:
    """Parameters (int8 scales and zero points not counted), non-zero parameters and bytes of
    a model folder's safetensors files, read from the files without building the model."""
    from safetensors import safe_open

    parameters = nonzero = size = 0
    for file in sorted(Path(folder).glob("*.safetensors")):
        size += file.stat().st_size
        with safe_open(str(file), framework="pt") as f:
            for key in f.keys():
                if key.endswith((".weight.scale", ".weight.zero_point")):
                    continue
                tensor = f.get_tensor(key)
                parameters += tensor.numel()
                nonzero += int(torch.count_nonzero(tensor))
    return {"parameters": parameters, "nonzero_parameters": nonzero, "size_bytes": size}


def describe_model(folder: str | Path) -> dict:
    """Size and shape of a saved model: ``weights_summary`` plus its layers and hidden size."""
    config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    return {**weights_summary(folder), "layers": config.num_hidden_layers, "hidden": config.hidden_size}


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
