#!/usr/bin/env bash
# The analysts' endpoint from a fresh clone, as docs/analysts.md promises it:
#   1. `rural-risk sql-server start` on an empty lakehouse,
#   2. `make demo` into that lakehouse while the server runs,
#   3. beeline: SELECT count(*) FROM gold.village_risk returns the row count the pipeline wrote,
#   4. beeline: DELETE FROM gold.village_risk is refused and the rows stay,
#   5. `rural-risk sql-server stop` leaves no server process and the port closed.
# Run from the repository root after `make setup` (make demo runs it otherwise):
#   benchmarks/sql_server_demo.sh [OUT]    (OUT: a results file, default benchmarks/results/sql_server_demo_<date>.txt)
# It starts two Spark processes (the server and the pipeline): on a shared machine hold both
# Spark slots around it. Exit 0 only when every step held.
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,13p' "$0"; exit 0; fi
OUT=${1:-benchmarks/results/sql_server_demo_$(date +%F).txt}
PORT=${SQL_PORT:-10000}
BIN=.venv/bin
JARS=$($BIN/python -c "import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), 'jars'))")
LAKEHOUSE=lakehouse
beeline() { java -cp "$JARS/*" org.apache.hive.beeline.BeeLine -u "jdbc:hive2://localhost:$PORT/default" \
  --silent=true --outputformat=csv2 --showHeader=false -e "$1" 2>&1; }
fail() { echo "FAILED: $*" | tee -a "$OUT"; $BIN/rural-risk --lakehouse $LAKEHOUSE sql-server stop >/dev/null 2>&1; exit 1; }

mkdir -p "$(dirname "$OUT")"
{ echo "sql-server demo, $(date -Is), commit $(git rev-parse --short HEAD)"; echo "load at start: $(cat /proc/loadavg)"; } > "$OUT"
[ -e "$LAKEHOUSE" ] && fail "$LAKEHOUSE/ exists: run from a fresh clone or move it away"
t0=$(date +%s)
$BIN/rural-risk --lakehouse $LAKEHOUSE sql-server start --port "$PORT" >>"$OUT" 2>&1 || fail "sql-server start"
echo "1. server started on an empty lakehouse in $(( $(date +%s) - t0 )) s" | tee -a "$OUT"
t1=$(date +%s)
make demo >"$OUT.demo.log" 2>&1 || fail "make demo (log $OUT.demo.log)"
echo "2. make demo into it in $(( $(date +%s) - t1 )) s" | tee -a "$OUT"
$BIN/rural-risk --lakehouse $LAKEHOUSE sql-server refresh >>"$OUT" 2>&1 || fail "sql-server refresh"
want=$($BIN/python -c "from deltalake import DeltaTable; print(len(DeltaTable('$LAKEHOUSE/gold/village_risk').to_pandas()))")
got=$(beeline "SELECT count(*) FROM gold.village_risk" | grep -oE '[0-9]+$' | tail -1)
echo "3. beeline count(*) of gold.village_risk: $got (delta-rs reads $want)" | tee -a "$OUT"
[ -n "$got" ] && [ "$got" = "$want" ] || fail "count over JDBC"
refused=$(beeline "DELETE FROM gold.village_risk")
after=$(beeline "SELECT count(*) FROM gold.village_risk" | grep -oE '[0-9]+$' | tail -1)
echo "4. DELETE over JDBC: $(echo "$refused" | grep -oE 'DELTA_[A-Z_]+|Permission denied|UNSUPPORTED[A-Z_]*' | head -1); rows after: $after" | tee -a "$OUT"
echo "$refused" | grep -qiE "error|refused|denied" || fail "DELETE was not refused"
[ "$after" = "$want" ] || fail "rows changed after DELETE"
$BIN/rural-risk --lakehouse $LAKEHOUSE sql-server stop >>"$OUT" 2>&1 || fail "sql-server stop"
sleep 1
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then fail "port $PORT still open"; fi
pgrep -f HiveThriftServer2 >/dev/null && fail "a Thrift server process is left"
echo "5. stopped: port $PORT closed, no server process" | tee -a "$OUT"
echo "load at end: $(cat /proc/loadavg); whole run $(( $(date +%s) - t0 )) s" | tee -a "$OUT"
