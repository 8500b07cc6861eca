"""The documentation: the generated configuration reference is up to date, the README stays
short with its Quick start intact, and every relative link resolves."""

import re
from pathlib import Path

import pytest
import yaml

from miniature.config_reference import (
    PAGE,
    SCHEMA,
    load_schema,
    main,
    reference_markdown,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
README_LIMIT = 12_000


def test_configuration_page_is_what_the_script_writes():
    assert PAGE.exists(), "docs/configuration.md is missing: run python -m miniature.config_reference"
    assert PAGE.read_text() == reference_markdown(load_schema()), (
        "docs/configuration.md differs from the schema: run python -m miniature.config_reference")


def test_check_mode_flags_a_stale_page(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    assert main(["--output", str(page)]) == 0
    assert main(["--output", str(page), "--check"]) == 0
    page.write_text(page.read_text() + "edited by hand\n")
    assert main(["--output", str(page), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def _properties(node, path=""):
    """(path, schema) of every property declared anywhere in the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "if":  # a condition on properties, not a declaration
                continue
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield f"{path}.{name}", sub
                    yield from _properties(sub, f"{path}.{name}")
            else:
                yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}/{i}")


def test_every_schema_field_is_described():
    schema = load_schema()
    undescribed = set()
    for path, sub in _properties(schema):
        # A field that only sets a default for a field described elsewhere (finetune.qa's
        # batch_size, ...) is described where it is declared.
        if set(sub) <= {"default"}:
            continue
        target = schema["$defs"][sub["$ref"].rsplit("/", 1)[-1]] if "$ref" in sub else {}
        if "description" not in sub and "description" not in target:
            undescribed.add(path)
    assert not undescribed, f"schema fields without a description: {sorted(undescribed)}"


def test_schema_has_no_keys_without_values():
    """An unquoted description with ', ' in a YAML flow mapping is cut there and the rest
    becomes a key without a value; catch it."""

    def nulls(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None:
                    yield f"{path}/{key}"
                yield from nulls(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from nulls(value, f"{path}/{i}")

    with open(SCHEMA) as f:
        assert list(nulls(yaml.safe_load(f), "")) == []


def test_reference_lists_defaults_and_links_shared_definitions():
    schema = {
        "$defs": {"src": {"type": "object", "properties": {"id": {"type": "string", "description": "the id"}},
                          "required": ["id"]}},
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "description": "a name"},
            "k": {"type": "integer", "minimum": 1, "default": 10, "description": "K | neighbours"},
            "a": {"type": "object", "description": "first", "properties": {"s": {"$ref": "#/$defs/src"}}},
            "b": {"type": "object", "properties": {"s": {"$ref": "#/$defs/src", "description": "second"}}},
        },
    }
    text = reference_markdown(schema)
    assert "| `name` | string | required | a name |" in text
    assert "| `k` | integer | `10` | K \\| neighbours (≥ 1) |" in text
    assert "| `a.s` | [src](#src) |" in text and "| `b.s` | [src](#src) |  | second |" in text
    assert "### src" in text and "| `id` | string | required | the id |" in text


# -- README ---------------------------------------------------------------------------------


def test_readme_is_short():
    size = len(README.read_text())
    assert size <= README_LIMIT, f"README.md has {size} characters; keep it to {README_LIMIT} (move detail to docs/)"


def _quick_start_blocks(text):
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert section, "README.md has no '## Quick start' section"
    return re.findall(r"^```[^\n]*\n(.*?)^```", section.group(1), re.DOTALL | re.MULTILINE)


def test_quick_start_first_block_has_the_two_commands():
    blocks = _quick_start_blocks(README.read_text())
    assert blocks, "the Quick start has no code block"
    lines = blocks[0].splitlines()
    assert len(lines) == 2 and all(line.strip() for line in lines), lines
    assert lines[0].startswith("python3 -m venv .venv") and "snakemake" in lines[0]
    assert "pytest" in lines[1]


# -- links ----------------------------------------------------------------------------------


def _strip_code(text):
    """The text without fenced code blocks and inline code (links there are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


def _links(text):
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _strip_code(text))


def github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(path):
    seen: dict[str, int] = {}
    result = set()
    for line in _strip_fences(path.read_text()).splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if not heading:
            continue
        anchor = github_anchor(heading.group(1))
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        result.add(anchor if n == 0 else f"{anchor}-{n}")
    return result


def _strip_fences(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def test_github_anchor():
    assert github_anchor("Adversarial vulnerability (BERT-Attack)") == "adversarial-vulnerability-bert-attack"
    assert github_anchor("The paper's experiment") == "the-papers-experiment"
    assert github_anchor("hub_source") == "hub_source"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page):
    broken = []
    for target in _links(page.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        if ROOT not in resolved.parents and resolved != ROOT:
            broken.append(f"{target} (outside the project)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor})")
    assert not broken, f"{page.name}: broken links: {broken}"


def test_docs_index_lists_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    listed = {target.partition("#")[0] for target in _links(index)}
    missing = [p.name for p in DOCS if p.name != "README.md" and p.name not in listed]
    assert not missing, f"docs/README.md does not list {missing}"


def test_docs_stay_inside_the_project():
    for page in [README, *DOCS]:
        assert "../shared" not in page.read_text(), f"{page.name} points outside the project"
