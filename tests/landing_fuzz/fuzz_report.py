"""The landing fuzz run's figures as Markdown (FUZZ_REPORT=path pytest tests/landing_fuzz)."""

from __future__ import annotations

import os
import platform
from collections import Counter
from pathlib import Path


def _table(head: tuple[str, ...], rows: list[tuple]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *["| " + " | ".join(str(v) for v in r) + " |" for r in rows]]


def write_report(path: Path, fig: dict, profile: str) -> None:
    corpus, log, summary = fig.get("corpus"), fig.get("log") or [], fig.get("summary")
    if corpus is None or summary is None or "seconds" not in fig:
        return  # the run stopped early: no figures to show
    by_file = {r["file"]: r for r in log}
    rows = []
    totals = Counter()
    for s in summary.sources:
        files = corpus.of(s.source)
        loaded = [by_file[f.file] for f in files if by_file.get(f.file, {}).get("status") == "loaded"]
        n = Counter(
            files=len(files), parse_rejected=sum(f.error is not None for f in files),
            share_rejected=sum(f.error is None and by_file.get(f.file, {}).get("status") == "rejected" for f in files),
            loaded=len(loaded), rows_parsed=sum(f.rows for f in files), malformed=sum(f.malformed for f in files),
            rows_read=sum(r["rows_read"] for r in loaded), accepted=sum(r["rows_accepted"] for r in loaded),
            quarantined=sum(r["rows_quarantined"] for r in loaded), duplicate=sum(r["rows_duplicate"] for r in loaded),
        )
        totals.update(n)
        rows.append((s.source, *(n[k] for k in ("files", "parse_rejected", "share_rejected", "loaded", "rows_parsed",
                                                 "malformed", "rows_read", "accepted", "quarantined", "duplicate"))))
    rows.append(("**all**", *(totals[k] for k in ("files", "parse_rejected", "share_rejected", "loaded", "rows_parsed",
                                                  "malformed", "rows_read", "accepted", "quarantined", "duplicate"))))
    stopped = sum("stopped by" in m for s in summary.sources for m in s.messages)
    damage = Counter(d for f in corpus.files for d in f.damage)
    headers = fig.get("headers")
    lb, la = fig["load_before"], fig["load_after"]
    out = [
        f"# Landing fuzz run, {fig['date']}",
        "",
        f"`FUZZ_REPORT={path} spark-slot .venv/bin/pytest tests/landing_fuzz -q` (profile `{profile}`, "
        "hypothesis derandomized: the same files on every run). Machine: "
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}; "
        f"load average before {lb[0]:.2f} / {lb[1]:.2f} / {lb[2]:.2f}, after {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} "
        "(1 / 5 / 15 min; the machine is shared).",
        "",
        f"- hostile files generated and parsed in Python (parse_file): **{len(corpus.files)}** "
        f"in {corpus.seconds:.1f} s, plus {len(headers.files) if headers else 0} header-problem files",
        f"- crashes: **{stopped}** sources stopped by an error in ingest, 0 exceptions in the parser "
        "(a parser exception fails the test, so a written report means none)",
        f"- one `ingest` over all of them (one session, Great Expectations off): {fig['ingest_seconds']:.1f} s; "
        f"`check-landing` over the header-problem folder: {fig.get('check_seconds', 0):.1f} s; "
        f"the whole module: {fig['seconds']:.1f} s",
        "",
        "Per source (files: generated; parse-rejected: a file-level error such as an encoding, an empty "
        "file or a delimiter; share-rejected: rejected alone because more than half of its 20+ rows fail; "
        "rows read and after: from ops.ingest_log of the loaded files, rows read = accepted + quarantined "
        "+ duplicate on every row of it):",
        "",
        *_table(("source", "files", "parse-rejected", "share-rejected", "loaded", "rows parsed", "malformed lines",
                 "rows read", "accepted", "quarantined", "duplicate"), rows),
        "",
        "Damage applied (a file may carry several):",
        "",
        *_table(("damage", "files"), sorted(damage.items(), key=lambda kv: (-kv[1], kv[0]))),
        "",
        "Reason codes in ops.quarantine (all of them in the contract, docs/landing.md):",
        "",
        *_table(("reason code", "rows"), sorted((fig.get("reasons_used") or {}).items(),
                                               key=lambda kv: (-kv[1], kv[0]))),
    ]
    if headers:
        batch = Counter(f.source for f in headers.files if f.error_kind == "batch")
        out += ["", "Header-problem files (a repeated or missing column: the source's batch fails by contract; "
                "checked with check-landing, which reports every file):", "",
                *_table(("source", "files", "header mismatch", "other file-level error"),
                        [(s, len(headers.of(s)), batch[s],
                          sum(f.error_kind == "file" for f in headers.of(s))) for s in sorted({f.source for f in headers.files})])]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
