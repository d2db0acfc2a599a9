"""benchmarks/countymurders_landing.py on a hand-made 3-county x 2-year frame: the exact rows and
files it writes (pandas only: no Spark, no download of the data set)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script():
    """benchmarks/countymurders_landing.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "countymurders_landing", ROOT / "benchmarks" / "countymurders_landing.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cm = _script()

# Shuffled on purpose: the script sorts by state, county, year. density is per square mile.
FRAME = pd.DataFrame(
    [
        # countyid, statefips, countyfips, year, popul, murders, density
        (56045, 56, 45, 1988, 6900, 1, 2.0),
        (1003, 1, 3, 1988, 101000, 3, 101.0),
        (1001, 1, 1, 1987, 32000, 2, 50.0),
        (56045, 56, 45, 1987, 7000, 0, 2.0),
        (1001, 1, 1, 1988, 32500, 0, 50.78125),
        (1003, 1, 3, 1987, 100000, 1, 100.0),
    ],
    columns=["countyid", "statefips", "countyfips", "year", "popul", "murders", "density"],
).assign(murdrate=0.5, arrests=".")  # columns the script does not read are ignored

# area_km2 = median over the years of popul / density x 2.589988:
#   US01001: 32000 / 50 = 32500 / 50.78125 = 640 sq mi -> 1657.59232 -> 1657.59
#   US01003: 100000 / 100 = 101000 / 101 = 1000 sq mi -> 2589.988 -> 2589.99
#   US56045: 3500 and 3450 sq mi -> 9064.958 and 8935.4586, median 9000.2083 -> 9000.21
# Placeholder points 0, 1, 2 of the grid: longitude 110.05 + i x 0.19, latitude 31.05.
VILLAGES_CSV = """\
village_id,village_name,township_id,township_name,county_id,county_name,longitude,latitude,area_km2,terrain,updated_at
US01001,County 01001 (AL),US01,Alabama,US,United States (countymurders),110.05,31.05,1657.59,,1980-01-01 00:00:00
US01003,County 01003 (AL),US01,Alabama,US,United States (countymurders),110.24,31.05,2589.99,,1980-01-01 00:00:00
US56045,County 56045 (WY),US56,Wyoming,US,United States (countymurders),110.43,31.05,9000.21,,1980-01-01 00:00:00
"""

POPULATION_1987_CSV = """\
village_id,snapshot_date,resident_pop,updated_at
US01001,1987-01-01,32000,1987-01-01 00:00:00
US01003,1987-01-01,100000,1987-01-01 00:00:00
US56045,1987-01-01,7000,1987-01-01 00:00:00
"""

POPULATION_1988_CSV = """\
village_id,snapshot_date,resident_pop,updated_at
US01001,1988-01-01,32500,1988-01-01 00:00:00
US01003,1988-01-01,101000,1988-01-01 00:00:00
US56045,1988-01-01,6900,1988-01-01 00:00:00
"""

# Murder k (0-based) of n in a year of D days: day floor((2k + 1) x D / (2n)), day 0 = 1 January.
#   US01001 1987, n 2, D 365: days 91 (1 Jan + 91 = 2 April) and 273 (1 October)
#   US01003 1987, n 1, D 365: day 182 (2 July)
#   US01003 1988, n 3, D 366: days 61 (2 March: leap year), 183 (2 July), 305 (1 November)
#   US56045 1988, n 1, D 366: day 183 (2 July)
# US01001 1988 and US56045 1987 had no murder: no row.
INCIDENTS_1987_CSV = """\
incident_id,reported_at,village_id,category,severity,source,status,updated_at
CM01001-1987-0001,1987-04-02 12:00:00,US01001,assault,4,citizen_call,open,1987-04-02 12:00:00
CM01001-1987-0002,1987-10-01 12:00:00,US01001,assault,4,citizen_call,open,1987-10-01 12:00:00
CM01003-1987-0001,1987-07-02 12:00:00,US01003,assault,4,citizen_call,open,1987-07-02 12:00:00
"""

INCIDENTS_1988_CSV = """\
incident_id,reported_at,village_id,category,severity,source,status,updated_at
CM01003-1988-0001,1988-03-02 12:00:00,US01003,assault,4,citizen_call,open,1988-03-02 12:00:00
CM01003-1988-0002,1988-07-02 12:00:00,US01003,assault,4,citizen_call,open,1988-07-02 12:00:00
CM01003-1988-0003,1988-11-01 12:00:00,US01003,assault,4,citizen_call,open,1988-11-01 12:00:00
CM56045-1988-0001,1988-07-02 12:00:00,US56045,assault,4,citizen_call,open,1988-07-02 12:00:00
"""

EXPECTED_FILES = {
    "villages/villages.csv": VILLAGES_CSV,
    "population/1987.csv": POPULATION_1987_CSV,
    "population/1988.csv": POPULATION_1988_CSV,
    "incidents/1987.csv": INCIDENTS_1987_CSV,
    "incidents/1988.csv": INCIDENTS_1988_CSV,
}


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_convert_gives_the_contract_columns_and_counts():
    tables = cm.convert(FRAME)
    assert list(tables["villages"].columns) == [
        "village_id", "village_name", "township_id", "township_name", "county_id", "county_name",
        "longitude", "latitude", "area_km2", "terrain", "updated_at"]
    assert list(tables["population"].columns) == ["village_id", "snapshot_date", "resident_pop", "updated_at"]
    assert list(tables["incidents"].columns) == [
        "incident_id", "reported_at", "village_id", "category", "severity", "source", "status", "updated_at"]
    # 3 counties; 3 x 2 county-years; 2 + 0 + 1 + 3 + 0 + 1 murders.
    assert [len(tables[s]) for s in ("villages", "population", "incidents")] == [3, 6, 7]


def test_write_landing_writes_exactly_these_files(tmp_path):
    counts = cm.write_landing(cm.convert(FRAME), tmp_path)
    assert counts == {"villages": 3, "population": 6, "incidents": 7}
    assert _files(tmp_path) == EXPECTED_FILES


def test_main_reads_a_csv_and_refuses_to_overwrite_silently(tmp_path, capsys):
    src = tmp_path / "countymurders.csv"
    FRAME.to_csv(src, index=False)
    out = tmp_path / "landing"
    assert cm.main(["--out", str(out), "--input", str(src)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{out}: 3 villages, 6 population rows, 7 incidents in 5 files")
    assert _files(out) == EXPECTED_FILES
    assert cm.main(["--out", str(out), "--input", str(src)]) == 2
    (out / "incidents" / "stale.csv").write_text("x\n", encoding="utf-8")
    assert cm.main(["--out", str(out), "--input", str(src), "--overwrite"]) == 0
    assert _files(out) == EXPECTED_FILES  # stale.csv went with the old incidents/ folder


def test_grid_points_and_the_full_data_set_fit_the_default_settings():
    assert cm.grid_point(0) == (110.05, 31.05)
    assert cm.grid_point(36) == (116.89, 31.05)    # 110.05 + 36 x 0.19, the last of row 0
    assert cm.grid_point(37) == (110.05, 31.2)     # row 1
    assert cm.grid_point(2196) == (112.52, 39.9)   # county 2 197: row 59, column 13
    with pytest.raises(cm.ConversionError):
        cm.grid_point(37 * 65)
    from conf import load_settings

    settings = load_settings("local")
    bbox = settings.section("ingest")["bounding_box"]
    max_km = float(settings.section("features")["neighbours"]["max_km"])
    cm.check_grid(2197, bbox, max_km)  # the data set's counties: inside the box, no neighbours
    # 0.19 degrees of longitude at latitude 39.90 are 2 x 6371.0088 x asin(cos(39.9°) sin(0.095°))
    # = 16.2 km: points 16.5 km apart would be neighbours.
    with pytest.raises(cm.ConversionError, match="neighbours"):
        cm.check_grid(2197, bbox, 16.5)
    with pytest.raises(cm.ConversionError, match="bounding box"):
        cm.check_grid(2197, {**bbox, "lat_max": 39.0}, max_km)


def test_bad_input_is_refused():
    with pytest.raises(cm.ConversionError, match="countyid"):
        cm.convert(FRAME.assign(countyid=FRAME["countyid"] + 1))
    with pytest.raises(cm.ConversionError, match="murders"):
        cm.convert(FRAME.drop(columns="murders"))
    with pytest.raises(cm.ConversionError, match="twice"):
        cm.convert(pd.concat([FRAME, FRAME.head(1)]))
    with pytest.raises(cm.ConversionError, match="state FIPS"):
        cm.convert(FRAME.assign(statefips=3, countyid=3000 + FRAME["countyfips"]))
