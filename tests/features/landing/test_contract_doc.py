"""docs/landing.md stays true: its generated tables are what the rules render today, and every
reason code the row checks can give is in it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from features.landing import contract_doc as cd

DOC = cd.DOC_PATH.read_text(encoding="utf-8")


def test_generated_tables_are_what_the_rules_render():
    fresh = cd.render_blocks()
    in_doc = cd.doc_blocks(DOC)
    assert sorted(in_doc) == sorted(fresh), "docs/landing.md lacks or has extra generated blocks"
    stale = [name for name in fresh if in_doc[name] != fresh[name]]
    assert not stale, (f"docs/landing.md: generated tables {stale} differ from the rules: run "
                       "`.venv/bin/python -m features.landing.contract_doc` and review the prose")


def test_a_changed_rule_changes_the_rendered_doc():
    contract = cd.load_contract()
    spec = contract.specs["incidents"]
    severity = dataclasses.replace(spec.column("severity"), max=5.0)
    changed = dataclasses.replace(spec, columns=tuple(severity if c.name == "severity" else c for c in spec.columns))
    other = dataclasses.replace(contract, specs={**contract.specs, "incidents": changed})
    before, after = cd.render_source(contract, "incidents"), cd.render_source(other, "incidents")
    assert "1 .. 4 → `out_of_range:severity`" in before
    assert "1 .. 5 → `out_of_range:severity`" in after
    assert cd.update(DOC, cd.render_blocks(other)) != DOC


def test_codes_and_chinese_labels_of_conf_are_in_the_doc():
    contract = cd.load_contract()
    assert "| `incident_category` | `livestock_theft` | 盗窃牲畜 |" in DOC
    assert "| `org_type` | `police_post` | 警务室 |" in DOC
    used = {c.codes for s in contract.specs.values() for c in s.columns if c.type == "code"}
    for name in used:
        for code, labels in contract.codes[name].items():
            assert f"| `{name}` | `{code}` | {'、'.join(labels or []) or '—'} |" in DOC, (name, code)


def test_every_reason_code_the_checks_can_give_is_in_the_doc(spark):
    """The reasons the doc lists per source are the ones rules.check_columns and
    conform.village_checks actually make (same order), and each is written in the doc."""
    from features.landing.batch import MALFORMED
    from features.landing.conform import village_checks
    from features.landing.rules import check_columns, reason_of

    contract = cd.load_contract()
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert contract.sources == ["villages", "population", "incidents", "patrols", "organizations",
                                "resources", "survey"]
    emitted = set()
    for source in contract.sources:
        spec = contract.specs[source]
        checks = {**check_columns(spec, contract.codes, contract.ingest["bounding_box"], now),
                  **village_checks(spec.village)}
        reasons = [reason_of(name) for name in checks]
        assert reasons == cd.source_reasons(contract, source), source
        emitted |= set(reasons)
    emitted.add(MALFORMED)
    missing = sorted(r for r in emitted if f"`{r}`" not in DOC)
    assert not missing, f"reason codes the checks give but docs/landing.md does not name: {missing}"
    assert len(emitted) == 114
