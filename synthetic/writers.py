"""Landing-file writers: CSV (RFC 4180, UTF-8 or GB18030) and JSON Lines, with dirty rows planted
at the configured rate and every one of them listed (file, physical line, kind, reason)."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthetic.dirty import SPECS, applicable, mutate
from synthetic.geography import rng_for

DIRTY_COLUMNS = ["source", "file", "line", "kind", "field", "expected_reason"]


def fmt_ts(values: Any, iso_offset: str | None = None) -> np.ndarray:
    """datetime64 -> 'YYYY-MM-DD HH:MM:SS' (local) or ISO-8601 with an offset; NaT -> ''."""
    s = np.datetime_as_string(np.asarray(values, "datetime64[s]"), unit="s")
    s = np.char.add(s, iso_offset) if iso_offset else np.char.replace(s, "T", " ")
    return np.where(np.isnat(np.asarray(values, "datetime64[s]")), "", s)


def fmt_date(values: Any) -> np.ndarray:
    d = np.asarray(values, "datetime64[D]")
    return np.where(np.isnat(d), "", np.datetime_as_string(d, unit="D"))


def fmt_num(values: Any, decimals: int) -> np.ndarray:
    a = np.asarray(values, float)
    return np.where(np.isnan(a), "", np.char.mod(f"%.{decimals}f", np.nan_to_num(a)))


@dataclass
class LandingWriter:
    """Writes one shard's files under `root` and collects the dirty rows it planted."""

    root: Path
    seed: int
    dirty_rate: float
    dirty_params: dict[str, Any]
    labels: dict[str, dict[str, list[str]]]
    encodings: dict[str, str] = field(default_factory=dict)
    dirty: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def _rng(self, rel: str) -> np.random.Generator:
        return rng_for(self.seed, 3, zlib.crc32(rel.encode("utf-8")))

    def _plan(self, source: str, n: int, rng: np.random.Generator, exclude: np.ndarray) -> dict[int, str]:
        """Row position -> dirty kind, for about dirty_rate of the rows."""
        spec = SPECS[source]
        weights = self.dirty_params["kinds"]
        kinds = [k for k in weights if applicable(spec, k, self.labels)]
        if not kinds or n == 0 or self.dirty_rate <= 0:
            return {}
        candidates = np.setdiff1d(np.arange(n), exclude)
        k = min(int(rng.binomial(n, self.dirty_rate)), len(candidates))
        pos = np.sort(rng.choice(candidates, k, replace=False))
        w = np.array([weights[x] for x in kinds], float)
        chosen = rng.choice(len(kinds), k, p=w / w.sum())
        return {int(i): kinds[j] for i, j in zip(pos, chosen, strict=True)}

    def _emit(self, source: str, rel: str, header: str | None, clean: list[str],
              record: Callable[[int], dict[str, Any]], render: Callable[[dict[str, Any]], str],
              truncate: bool, natural: dict[int, tuple[str, str, str]] | None = None) -> None:
        """Plant dirt in the rendered lines, record each dirty line, write the file."""
        rng = self._rng(rel)
        spec = SPECS[source]
        natural = natural or {}
        plan = self._plan(source, len(clean), rng, np.array(sorted(natural), int))
        first = 2 if header is not None else 1
        lines: list[str] = []
        entries: list[tuple[int, str, str, str]] = []   # line, kind, field, reason
        extra: list[tuple[str, str, str, str]] = []     # copy mode: lines appended at the end
        prev = 0
        for i, kind in sorted(plan.items()):
            lines.extend(clean[prev:i])
            prev = i + 1
            line = clean[i]
            bad, got = self._dirty_line(spec, kind, line, record(i), render, rng, header is not None)
            if spec.copy_mode or got is None:
                lines.append(line)
            if got is None:
                continue
            if spec.copy_mode:
                extra.append((bad, kind, *got))
            else:
                if kind == "duplicate_row":
                    lines.append(line)
                lines.append(bad)
                entries.append((first + len(lines) - 1, kind, *got))
        lines.extend(clean[prev:])
        dups = np.array(sorted(j for j, k in plan.items() if k == "duplicate_row"), int)
        for i, reason in natural.items():   # rows dirty by nature (never planned): shifted by duplicates above
            entries.append((first + i + int(np.searchsorted(dups, i)), *reason))
        for line, kind, f, reason in extra:
            lines.append(line)
            entries.append((first + len(lines) - 1, kind, f, reason))
        out = ([header] if header is not None else []) + lines
        share = float(self.dirty_params["truncated_last_line_share"])
        ending = "\n"
        if lines and self.dirty_rate > 0 and (truncate or rng.random() < share):
            if spec.copy_mode:   # master data: cut a copy of the last row, keep the row itself
                lines.append(lines[-1])
                out.append(lines[-1])
            last = first + len(lines) - 1
            entries = [e for e in entries if e[0] != last] + [(last, "malformed_line", "", "malformed_line")]
            out[-1] = _break(out[-1], header is not None)
            ending = ""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\n".join(out) + ending).encode(self.encodings.get(source, "utf-8")))
        self.rows[source] = self.rows.get(source, 0) + len(lines)
        for line_no, kind, f, reason in sorted(entries):
            self.dirty.append({"source": source, "file": rel, "line": line_no, "kind": kind,
                               "field": f, "expected_reason": reason})

    def _dirty_line(self, spec, kind: str, line: str, rec: dict[str, Any], render, rng: np.random.Generator,
                    csv: bool) -> tuple[str, tuple[str, str] | None]:
        """The dirty version of one line and (field, expected reason); None if the kind does not fit."""
        if kind == "duplicate_row":
            return line, ("", "")
        if spec.copy_mode:
            rec["updated_at"] = _earlier(rec["updated_at"], int(self.dirty_params["village_copy_days_earlier"]))
        if kind == "malformed_line":
            return _break(render(rec), csv), ("", "malformed_line")
        got = mutate(rec, kind, spec, rng, self.labels, self.dirty_params)
        return render(rec), got

    def write_csv(self, source: str, rel: str, frame: pd.DataFrame, columns: list[str],
                  truncate: bool = False, natural: dict[int, tuple[str, str, str]] | None = None) -> None:
        """`frame` holds every contract column as a string ('' = missing)."""
        if frame.empty:
            return
        data = frame[columns].reset_index(drop=True)
        clean = csv_text(data).split("\n")[1:-1]
        self._emit(source, rel, ",".join(columns), clean, lambda i: data.iloc[i].to_dict(),
                   lambda r: _csv_line(r, columns), truncate, natural)

    def write_jsonl(self, source: str, rel: str, lines: list[str], record: Callable[[int], dict[str, Any]],
                    truncate: bool = False) -> None:
        if not lines:
            return
        self._emit(source, rel, None, lines, record, _json_line, truncate)


def _csv_line(rec: dict[str, Any], columns: list[str]) -> str:
    out = []
    for c in columns:
        s = str(rec[c])
        if any(ch in s for ch in ',"\n\r'):
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ",".join(out)


class RawJSON(str):
    """Text that is already JSON (e.g. a checkpoints array) and is written as is."""


def _json_line(rec: dict[str, Any]) -> str:
    def enc(x: Any) -> str:
        return x if isinstance(x, RawJSON) else json.dumps(x, ensure_ascii=False)

    return "{" + ",".join(f'"{k}":{enc(x)}' for k, x in rec.items()) + "}"


def _break(line: str, csv: bool) -> str:
    """A line no parser accepts: a CSV row cut after its third field, or half a JSON object."""
    if csv:
        return ",".join(line.split(",")[:3])
    return line[: max(1, len(line) // 2)]


def _earlier(ts: str, days: int) -> str:
    from datetime import datetime, timedelta

    return (datetime.strptime(ts, "%Y-%m-%d %H:%M:%S") - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")


def csv_text(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
