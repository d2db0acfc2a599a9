"""The landing contract's tables for docs/landing.md, rendered from what ingest enforces.

Every table here comes from the structures the checks are built from: the specs of
conf/expectations/<source>.yaml (parsed by features/landing/rules.py), the code lists of
conf/codes.yaml and the settings of conf/ingest.yaml. docs/landing.md holds the rendered
tables between `<!-- BEGIN generated:NAME -->` and `<!-- END generated:NAME -->` lines, with
prose around them; tests/test_landing_doc.py fails when they differ from a fresh rendering.

    .venv/bin/python -m features.landing.contract_doc          # rewrite the tables in place
    .venv/bin/python -m features.landing.contract_doc --check  # exit 1 when they are stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conf import PROJECT_ROOT, load_yaml
from features.landing.batch import MALFORMED
from features.landing.rules import FALSE_WORDS, TRUE_WORDS, TYPES, ColumnRule, TableSpec, load_specs

DOC_PATH = PROJECT_ROOT / "docs" / "landing.md"
BLOCK_RE = re.compile(
    r"<!-- BEGIN generated:(?P<name>[a-z_:]+) -->\n(?P<body>.*?)<!-- END generated:(?P=name) -->",
    re.DOTALL,
)

# What landed text each contract type accepts (features/landing/rules.py typed_value); text
# that is not empty and not of this form is `bad_type:<column>`.
TYPE_TEXT = {
    "string": "any text; blanks around it are trimmed",
    "int": "a whole number of at most 9 digits, optional sign (`12`, `-3`)",
    "double": "a decimal number (`113.6`, `.5`, `1e3`)",
    "bool": "true: " + ", ".join(f"`{w}`" for w in TRUE_WORDS) + "; false: "
            + ", ".join(f"`{w}`" for w in FALSE_WORDS) + " (any case)",
    "date": "`YYYY-MM-DD`, a real calendar day",
    "timestamp": "`YYYY-MM-DD HH:MM:SS` in the deployment's time zone, or ISO-8601 with an offset "
                 "(`2024-03-02T21:40:00+08:00`, `Z` allowed, a blank instead of `T` allowed)",
    "code": "an English code or one of its Chinese labels from conf/codes.yaml (an unknown one is "
            "`bad_code:<column>`, not `bad_type`)",
    "json_list": "a JSON list (in JSON Lines files: the field's value is a list)",
}
TYPE_NOUN = {
    "int": "an integer", "double": "a number", "bool": "true or false", "date": "a date",
    "timestamp": "a timestamp", "json_list": "a JSON list",
}
# Reason code families (the part before `:`), what each means.
REASON_TEXT = {
    "missing_required": "a required column is empty or absent",
    "bad_type": "the text is not of the column's type",
    "out_of_range": "the value is outside the column's range or the bounding box",
    "future_timestamp": "a timestamp later than the ingest run's time",
    "bad_code": "neither an English code nor a Chinese label of the column's code list",
    "unknown_village": "the village is not known (or, for an incident without village_id, none is within the snap distance)",
    "inconsistent": "a rule across columns is broken (the rule's name follows the colon)",
    "invalid_response": "a survey response not completed, with an item missing or out of 1 .. 5",
    MALFORMED: "a line that does not parse: wrong number of fields, broken quoting or JSON",
}
VILLAGE_TEXT = {
    "none": "this is the village master list",
    "exists": "`village_id` must name a known village",
    "snap": "`village_id` may be empty when `longitude` and `latitude` are given: the row takes "
            "the nearest village within the snap distance",
}
UPDATED_AT_TEXT = {
    "column": "later `updated_at` wins",
    "ended_at": "later `updated_at` wins; when it is missing it is `ended_at`",
    "ingest_time": "the source has no version time: the row landed last wins (silver stores the "
                   "ingest time); the same response landed again with the same content counts once",
}


@dataclass(frozen=True)
class Contract:
    """Everything the landing checks are made of, as ingest loads it (profile overrides aside)."""

    specs: dict[str, TableSpec]
    codes: dict[str, Any]
    ingest: dict[str, Any]
    timezone: str

    @property
    def sources(self) -> list[str]:
        """Sources in load order (villages first)."""
        return list(self.ingest["sources"])


def load_contract() -> Contract:
    return Contract(specs=load_specs(), codes=load_yaml("codes.yaml"), ingest=load_yaml("ingest.yaml"),
                    timezone=str(load_yaml("base.yaml").get("timezone", "Asia/Shanghai")))


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:f}".rstrip("0")


def range_text(rule: ColumnRule, bbox: Mapping[str, float]) -> str | None:
    """The range a typed value must be in, in words (rules.range_ok)."""
    if rule.bbox:
        lo, hi = bbox[f"{rule.bbox}_min"], bbox[f"{rule.bbox}_max"]
        return f"{_num(lo)} .. {_num(hi)} (bounding box, `bounding_box.{rule.bbox}_min/_max`)"
    if rule.min is not None and rule.max is not None:
        return f"{_num(rule.min)} .. {_num(rule.max)}"
    if rule.min is not None:
        return f">= {_num(rule.min)}"
    if rule.max is not None:
        return f"<= {_num(rule.max)}"
    return None


def column_checks(rule: ColumnRule, bbox: Mapping[str, float]) -> list[tuple[str, str]]:
    """(what must hold, reason code when it does not) of one column, in the order
    rules.check_columns makes its checks."""
    out = []
    if rule.required:
        out.append(("present", f"missing_required:{rule.name}"))
    if rule.type not in ("string", "code"):
        out.append((TYPE_NOUN[rule.type], f"bad_type:{rule.name}"))
    rng = range_text(rule, bbox)
    if rng is not None:
        out.append((rng, rule.range_reason))
    if rule.type == "code":
        out.append((f"a code of `{rule.codes}`", f"bad_code:{rule.name}"))
    if rule.not_future:
        out.append(("not later than the ingest run's time", f"future_timestamp:{rule.name}"))
    return out


def village_reasons(mode: str) -> list[tuple[str, str]]:
    """(what must hold, reason code) of village resolution (conform.village_checks)."""
    if mode == "none":
        return []
    out = [("`village_id` names a known village" if mode == "exists" else
            "`village_id` names a known village, or the coordinates are within the snap distance of one",
            "unknown_village")]
    if mode == "snap":
        out.append(("`village_id` or both `longitude` and `latitude` given", "missing_required:village_id"))
    return out


def source_reasons(contract: Contract, source: str) -> list[str]:
    """Every reason code one source's row checks can give, in check order (malformed lines aside)."""
    spec, bbox = contract.specs[source], contract.ingest["bounding_box"]
    out = [reason for c in spec.columns for _, reason in column_checks(c, bbox)]
    out += [r.reason for r in spec.rules]
    out += [reason for _, reason in village_reasons(spec.village)]
    return out


def all_reasons(contract: Contract) -> dict[str, list[str]]:
    """reason code -> sources that can give it, malformed_line included."""
    out: dict[str, list[str]] = {}
    for source in contract.sources:
        for reason in [*source_reasons(contract, source), MALFORMED]:
            if source not in out.setdefault(reason, []):
                out[reason].append(source)
    return dict(sorted(out.items()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_source(contract: Contract, source: str) -> str:
    spec, conf = contract.specs[source], contract.ingest
    src = conf["sources"][source]
    exts = ", ".join(f"`.{e}`" for e in src.get("extensions", ["csv"]))
    fmt = "CSV with a header row" if src["format"] == "csv" else "JSON Lines, one object per line"
    encoding = (conf.get("encoding") or {}).get(source, "utf-8")
    lines = [
        f"Folder `{source}/` (sub-folders allowed), files ending {exts}: {fmt}, encoding {encoding}. "
        f"Key: {', '.join(f'`{k}`' for k in spec.key)}. Versions: {UPDATED_AT_TEXT[spec.updated_at]}. "
        f"Village: {VILLAGE_TEXT[spec.village]}. Silver table: `{spec.table}`.",
        "",
    ]
    rows = []
    bbox = conf["bounding_box"]
    for c in spec.columns:
        checks = "; ".join(f"{what} → `{reason}`" for what, reason in column_checks(c, bbox)) or "—"
        rows.append((f"`{c.name}`", c.type, "required" if c.required else "optional",
                     "key" if c.name in spec.key else "", checks))
    if src.get("personal"):
        for name, kind in conf["personal"]["fields"].items():
            rows.append((f"`{name}`", "string", "optional", "",
                         f"personal data ({kind}): replaced by a keyed pseudonym while reading, never stored in clear"))
        for name in conf["personal"]["drop"]:
            rows.append((f"`{name}`", "string", "optional", "", "free text: dropped while reading, never stored"))
    lines.append(_table(("column", "type", "required", "key", "must hold → reason code when it does not"), rows))
    extra = [(f"`{r.name}`", f"`{r.expr}`", f"`{r.reason}`") for r in spec.rules]
    extra += [("village", what, f"`{reason}`") for what, reason in village_reasons(spec.village)]
    if extra:
        lines += ["", "Rules across columns (SQL over the typed values; a rule whose result is unknown, "
                  "as when a value it compares is missing, does not apply):", "",
                  _table(("rule", "must hold", "reason code when it does not"), extra)]
    lists = sorted({c.codes for c in spec.columns if c.type == "code" and c.codes})
    if lists:
        lines += ["", "Codes (the English code or any Chinese label listed; labels are mapped to the code):", ""]
        code_rows = [(f"`{name}`", f"`{code}`", "、".join(labels or []) or "—")
                     for name in lists for code, labels in (contract.codes[name] or {}).items()]
        lines.append(_table(("code list", "code", "Chinese labels"), code_rows))
    return "\n".join(lines)


def render_common(contract: Contract) -> str:
    conf = contract.ingest
    bbox, bf = conf["bounding_box"], conf["batch_failure"]
    enc = conf.get("encoding") or {}
    settings = [
        ("time zone of local timestamps", f"`{contract.timezone}`", "conf/base.yaml `timezone`"),
        ("bounding box (WGS84 degrees)",
         f"longitude {_num(bbox['lon_min'])} .. {_num(bbox['lon_max'])}, latitude "
         f"{_num(bbox['lat_min'])} .. {_num(bbox['lat_max'])}", "conf/ingest.yaml `bounding_box`"),
        ("snap distance for incidents without village", f"{_num(conf['snap_distance_km'])} km",
         "conf/ingest.yaml `snap_distance_km`"),
        ("encoding", "UTF-8 (a BOM is allowed)" + (
            "; " + ", ".join(f"{s}: {e}" for s, e in sorted(enc.items())) if enc else "; no source overridden"),
         "conf/ingest.yaml `encoding`"),
        ("file rejection", f"a file of at least {bf['min_rows']} rows with more than "
         f"{float(bf['max_bad_share']):.0%} of them quarantined is rejected alone",
         "conf/ingest.yaml `batch_failure`"),
    ]
    types = [(f"`{t}`", TYPE_TEXT[t]) for t in TYPES]
    return "\n".join([
        _table(("setting", "default", "where"), settings), "",
        _table(("type", "landed text accepted (else `bad_type:<column>`)"), types),
    ])


def render_reasons(contract: Contract) -> str:
    """One row per reason family: its meaning and the codes of it each source can give."""
    by_family: dict[str, set[str]] = {}
    for reason, sources in all_reasons(contract).items():
        by_family.setdefault(reason.split(":", 1)[0], set()).update(sources)
    unknown = sorted(set(by_family) - set(REASON_TEXT))
    if unknown:
        raise ValueError(f"reason families without a meaning in REASON_TEXT: {unknown}")
    suffix = {"inconsistent": ":<rule>", "unknown_village": "", "invalid_response": "", MALFORMED: ""}
    rows = [(f"`{family}{suffix.get(family, ':<column>')}`", text,
             ", ".join(s for s in contract.sources if s in by_family.get(family, ())) or "—")
            for family, text in REASON_TEXT.items()]
    return _table(("reason code", "meaning", "sources"), rows)


def render_blocks(contract: Contract | None = None) -> dict[str, str]:
    """Block name -> rendered Markdown, for every generated block of docs/landing.md."""
    contract = contract or load_contract()
    blocks = {"common": render_common(contract)}
    blocks |= {f"source:{s}": render_source(contract, s) for s in contract.sources}
    blocks["reasons"] = render_reasons(contract)
    return blocks


def doc_blocks(text: str) -> dict[str, str]:
    """Block name -> body as it stands in the document."""
    return {m["name"]: m["body"].rstrip("\n") for m in BLOCK_RE.finditer(text)}


def update(text: str, blocks: Mapping[str, str]) -> str:
    """The document with every generated block replaced by its fresh rendering."""
    def fill(m: re.Match) -> str:
        name = m["name"]
        body = blocks.get(name, m["body"].rstrip("\n"))
        return f"<!-- BEGIN generated:{name} -->\n{body}\n<!-- END generated:{name} -->"

    return BLOCK_RE.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m features.landing.contract_doc",
                                     description="render the landing contract's tables into docs/landing.md")
    parser.add_argument("--check", action="store_true", help="only say whether the tables are current (exit 1 if not)")
    parser.add_argument("--doc", type=Path, default=DOC_PATH, help="the document (default: docs/landing.md)")
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    blocks = render_blocks()
    missing = sorted(set(blocks) - set(doc_blocks(text)))
    if missing:
        print(f"{args.doc}: no generated block for {', '.join(missing)} "
              "(add `<!-- BEGIN generated:NAME -->` / `<!-- END generated:NAME -->` lines)", file=sys.stderr)
        return 1
    fresh = update(text, blocks)
    if args.check:
        if fresh != text:
            print(f"{args.doc}: generated tables are stale: run python -m features.landing.contract_doc",
                  file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.doc.write_text(fresh, encoding="utf-8")
        print(f"{args.doc}: tables rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
