"""The configuration reference (docs/configuration.md), written from the config schema.

:func:`reference_markdown` turns the schema (a dict, as ``yaml.safe_load`` reads
``schemas/config.schema.yaml``) into Markdown: one table per top-level key with every field's
path, type, default and description, and one section per definition the schema uses in more
than one place (a hub source, a data split, the fine-tuning settings), which the tables link
to. ``python -m miniature.config_reference`` writes docs/configuration.md;
``python -m miniature.config_reference --check`` exits with 1 when the page differs from what
it would write. Only the standard library and PyYAML.
"""

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "config.schema.yaml"
PAGE = ROOT / "docs" / "configuration.md"

HEADER = """\
# Configuration reference

<!-- Written by `python -m miniature.config_reference` from schemas/config.schema.yaml: edit the
schema's descriptions, not this page (tests/test_docs.py checks that the two agree). -->

A run reads `config.yaml` (the demo), or the file given with `--configfile` (which replaces
`config.yaml`; several files are merged key by key, later ones winning). The whole config is
checked against `schemas/config.schema.yaml` before any job runs: an unknown or misspelled
key, a wrong type or a missing field stops the run with one message naming the field. Every
default below is filled in before the workflow is built. See [the configuration
guide](configuring.md) for examples.
"""


def _text(value) -> str:
    """One table cell: whitespace collapsed, pipes escaped."""
    return re.sub(r"\s+", " ", str(value)).strip().replace("|", "\\|")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _count_refs(node, counts: Counter) -> Counter:
    if isinstance(node, dict):
        if "$ref" in node:
            counts[_ref_name(node["$ref"])] += 1
        for value in node.values():
            _count_refs(value, counts)
    elif isinstance(node, list):
        for value in node:
            _count_refs(value, counts)
    return counts


class _Writer:
    def __init__(self, schema: dict):
        self.schema = schema
        self.defs = schema.get("$defs", {})
        counts = _count_refs({k: v for k, v in schema.items() if k != "$defs"}, Counter())
        _count_refs(self.defs, counts)
        # A definition used in several places gets a section of its own (when it has fields).
        self.shared = sorted(name for name, n in counts.items() if n > 1 and self._fields_of(self.defs[name]))

    # -- merging a node with what it refers to --------------------------------------------

    def _merged(self, node: dict) -> dict:
        """``node`` with its allOf parts' properties and notes merged in (not shared $refs)."""
        merged = {k: v for k, v in node.items() if k not in ("allOf", "properties")}
        properties: dict = {}
        notes: list[str] = []
        for part in node.get("allOf", []):
            part = self._resolve(part)
            for name, sub in self._merged(part).get("properties", {}).items():
                properties[name] = {**properties.get(name, {}), **sub}
            if "if" in part and "then" in part:
                notes.append(self._condition_note(part))
            elif not part.get("properties") and part.get("description"):
                notes.append(part["description"])
            notes.extend(self._merged(part).get("_notes", []))
        for name, sub in node.get("properties", {}).items():
            properties[name] = {**properties.get(name, {}), **sub}
        excluded = node.get("propertyNames", {}).get("not", {}).get("const")  # e.g. no doc_stride
        for part in node.get("allOf", []):
            excluded = excluded or part.get("propertyNames", {}).get("not", {}).get("const")
        properties.pop(excluded, None)
        if properties:
            merged["properties"] = properties
        if notes:
            merged["_notes"] = notes
        return merged

    def _resolve(self, node: dict) -> dict:
        if "$ref" not in node:
            return node
        target = self.defs[_ref_name(node["$ref"])]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}

    @staticmethod
    def _condition_note(part: dict) -> str:
        condition = ", ".join(f"{name}: {_value(rule.get('const'))}"
                              for name, rule in part["if"].get("properties", {}).items())
        then = part["then"]
        text = then.get("description", "")
        extra = []
        if then.get("required"):
            extra.append("needs " + ", ".join(then["required"]))
        if then.get("propertyNames", {}).get("enum"):
            extra.append("allows " + ", ".join(then["propertyNames"]["enum"]))
        return f"With {condition}: {text}" + (f" ({'; '.join(extra)})" if extra else "") + "."

    def _fields_of(self, node: dict) -> dict:
        return self._merged(self._resolve(node)).get("properties", {})

    # -- cells -----------------------------------------------------------------------------

    def _type(self, node: dict) -> str:
        if "$ref" in node and _ref_name(node["$ref"]) in self.shared:
            name = _ref_name(node["$ref"])
            return f"[{name}](#{_anchor(name)})"
        node = self._merged(self._resolve(node))
        if "enum" in node:
            return "one of " + ", ".join(f"`{_value(v)}`" for v in node["enum"])
        if "const" in node:
            return f"`{_value(node['const'])}`"
        if "oneOf" in node and all("type" in o or "$ref" in o for o in node["oneOf"]):
            return " or ".join(self._type(option) for option in node["oneOf"])
        kind = node.get("type", "object" if "properties" in node else "")
        if kind == "array" and "items" in node:
            kind = f"list of {self._type(node['items'])}"
        return kind

    def _limits(self, node: dict) -> list[str]:
        limits = []
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
            if key in node:
                limits.append(f"{sign} {_value(node[key])}")
        if "pattern" in node:
            limits.append(f"matches `{node['pattern']}`")
        if node.get("minItems"):
            limits.append(f"at least {node['minItems']} item{'s' if node['minItems'] > 1 else ''}")
        if node.get("uniqueItems"):
            limits.append("no repeats")
        if "minProperties" in node and node.get("type") == "object" and "properties" not in node:
            limits.append(f"at least {node['minProperties']} entries")
        return limits

    def _row(self, path: str, node: dict, required: bool) -> str:
        resolved = self._merged(self._resolve(node)) if not (
            "$ref" in node and _ref_name(node["$ref"]) in self.shared) else {
            **self._resolve(node), **{k: v for k, v in node.items() if k != "$ref"}}
        description = resolved.get("description", "")
        notes = [description.rstrip() + ("." if resolved.get("_notes") else "")] if description else []
        notes.extend(resolved.get("_notes", []))
        limits = self._limits(resolved)
        if limits:
            notes.append("(" + ", ".join(limits) + ")")
        default = f"`{_value(resolved['default'])}`" if "default" in resolved else ("required" if required else "")
        return f"| `{path}` | {_text(self._type(node))} | {default} | {_text(' '.join(notes))} |"

    # -- tables ----------------------------------------------------------------------------

    def _rows(self, prefix: str, node: dict, rows: list[str]) -> None:
        """Rows for the fields under ``node`` (already known to be an object), depth first."""
        merged = self._merged(self._resolve(node))
        required = set(merged.get("required", []))
        for name, sub in merged.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            rows.append(self._row(path, sub, name in required))
            if "$ref" in sub and _ref_name(sub["$ref"]) in self.shared:
                continue
            if self._fields_of(sub):
                self._rows(path, sub, rows)
            elif isinstance(self._resolve(sub).get("additionalProperties"), dict):
                self._rows_of_entries(path, self._resolve(sub)["additionalProperties"], rows)
            else:
                for option in self._resolve(sub).get("oneOf", []):
                    if self._fields_of(option) and "$ref" not in option:
                        self._rows(path, option, rows)

    def _rows_of_entries(self, prefix: str, entry: dict, rows: list[str]) -> None:
        path = f"{prefix}.<key>"
        rows.append(self._row(path, entry, False))
        if not ("$ref" in entry and _ref_name(entry["$ref"]) in self.shared):
            self._rows(path, entry, rows)

    @staticmethod
    def _table(rows: list[str]) -> list[str]:
        return ["| field | type | default | description |", "|---|---|---|---|", *rows]

    def markdown(self) -> str:
        out = [HEADER]
        if self.schema.get("description"):
            out.append(_text(self.schema["description"]).replace("\\|", "|") + "\n")
        required = set(self.schema.get("required", []))
        properties = self.schema.get("properties", {})
        plain = [name for name, sub in properties.items()
                 if not self._fields_of(sub) and not isinstance(self._resolve(sub).get("additionalProperties"), dict)]
        out.append("## Top level\n")
        out.extend(self._table([self._row(name, properties[name], name in required) for name in plain]))
        out.append("")
        for name, sub in properties.items():
            if name in plain:
                continue
            out.append(f"## {name}\n")
            resolved = self._merged(self._resolve(sub))
            if resolved.get("description"):
                out.append(_text(resolved["description"]).replace("\\|", "|") + "\n")
            rows: list[str] = []
            if isinstance(resolved.get("additionalProperties"), dict):
                self._rows_of_entries(name, resolved["additionalProperties"], rows)
            else:
                self._rows(name, sub, rows)
            out.extend(self._table(rows))
            out.append("")
        if self.shared:
            out.append("## Shared definitions\n")
            out.append("Parts of the config that appear in several places; the tables above link here. "
                       "Field paths are relative to the place that uses the definition.\n")
            for name in self.shared:
                node = self.defs[name]
                out.append(f"### {name}\n")
                resolved = self._merged(node)
                text = " ".join([resolved.get("description", ""), *resolved.get("_notes", [])]).strip()
                if text:
                    out.append(_text(text).replace("\\|", "|") + "\n")
                rows = []
                self._rows("", node, rows)
                out.extend(self._table(rows))
                out.append("")
        return "\n".join(out).rstrip("\n") + "\n"


def reference_markdown(schema: dict) -> str:
    """The configuration reference for ``schema`` (the config schema as a dict) as Markdown."""
    return _Writer(schema).markdown()


def load_schema(path: Path = SCHEMA) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", type=Path, default=SCHEMA)
    parser.add_argument("--output", type=Path, default=PAGE)
    parser.add_argument("--check", action="store_true", help="exit with 1 when the page is not up to date")
    args = parser.parse_args(argv)
    text = reference_markdown(load_schema(args.schema))
    if args.check:
        current = args.output.read_text() if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date: run python -m miniature.config_reference", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
