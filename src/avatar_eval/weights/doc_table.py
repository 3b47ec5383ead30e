"""The catalogue as a Markdown table (docs/weights.md embeds it; a test keeps the two in sync).

Regenerate with ``python -m avatar_eval.weights.doc_table``.
"""

from __future__ import annotations

from .spec import WeightSpec, list_weights


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sha(spec: WeightSpec) -> str:
    if spec.kind == "dir":
        return "n/a (directory)"
    if spec.sha256:
        return f"`{spec.sha256[:16]}…`"
    if spec.sha256_prefix:
        return f"unknown (name prefix `{spec.sha256_prefix}`)"
    return "unknown"


def catalog_table(specs: list[WeightSpec] | None = None) -> str:
    rows = [
        "| name | file | env var | sha256 | licence | used by | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in specs if specs is not None else list_weights():
        file = f"`{s.filename}{'/' if s.kind == 'dir' else ''}`"
        if s.archive_member:
            file += " (from a zip)"
        rows.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    f"`{s.name}`",
                    file,
                    f"`{s.env_var}`",
                    _sha(s),
                    s.license,
                    ", ".join(s.used_by),
                    s.manual_source(),
                )
            )
            + " |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    from .catalog import CATALOG

    print(catalog_table(sorted(CATALOG, key=lambda s: s.name)), end="")
