#!/usr/bin/env bash
# A Spark standalone cluster on this machine (one master, one worker) from pyspark's own jars,
# to run the jobs with `--profile cluster` the way a real cluster runs them (executors in their
# own JVMs, jars fetched from the driver, Python workers started by the worker).
#
#   benchmarks/spark_cluster.sh start    # make spark-cluster: starts both, waits until the
#                                        # worker has registered with the master
#   benchmarks/spark_cluster.sh stop     # make spark-cluster-stop: idempotent
#   benchmarks/spark_cluster.sh status
#
# Bound to 127.0.0.1. Pid files, logs and the worker's work folder are in $SPARK_CLUSTER_DIR
# (default .cache/spark-cluster). Then:
#   RURAL_RISK_SPARK_MASTER=spark://127.0.0.1:7077 SPARK_LOCAL_IP=127.0.0.1 \
#   RURAL_RISK_PSEUDONYM_KEY=... .venv/bin/rural-risk --profile cluster pipeline --landing ...
#
# Settings (environment): SPARK_MASTER_PORT (7077), SPARK_MASTER_WEBUI_PORT (8180),
# SPARK_WORKER_WEBUI_PORT (8181), SPARK_WORKER_CORES (2), SPARK_WORKER_MEMORY (4g),
# SPARK_DAEMON_MEMORY (heap of master and worker, 512m), VENV (.venv).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
DIR="${SPARK_CLUSTER_DIR:-$ROOT/.cache/spark-cluster}"
HOST=127.0.0.1
PORT="${SPARK_MASTER_PORT:-7077}"
MASTER_UI="${SPARK_MASTER_WEBUI_PORT:-8180}"
WORKER_UI="${SPARK_WORKER_WEBUI_PORT:-8181}"
CORES="${SPARK_WORKER_CORES:-2}"
MEMORY="${SPARK_WORKER_MEMORY:-4g}"
export SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-512m}"
# Everything on loopback; executors' Python workers run the project's interpreter.
export SPARK_LOCAL_IP="$HOST"
export PYSPARK_PYTHON="$VENV/bin/python"
export SPARK_LOG_DIR="$DIR"
# Spark's daemon log4j default (INFO to the log file) is kept: the log shows registration.
unset SPARK_CONF_DIR

alive() { [[ -f "$DIR/$1.pid" ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_for() {  # description, seconds, command...
  local what="$1" secs="$2"
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    if "$@"; then return 0; fi
    sleep 0.5
  done
  echo "spark-cluster: $what did not happen within ${secs}s" >&2
  return 1
}

launch() {  # name, class, args...
  local name="$1" class="$2"
  shift 2
  if alive "$name"; then
    echo "spark-cluster: $name already running (pid $(cat "$DIR/$name.pid"))"
    return 0
  fi
  nohup "$VENV/bin/spark-class" "$class" "$@" >"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
  echo "spark-cluster: $name started (pid $!, log $DIR/$name.log)"
}

registered() { grep -q "Successfully registered with master" "$DIR/worker.log" 2>/dev/null; }

worker_died() {
  if ! alive worker; then
    echo "spark-cluster: the worker exited; last lines of $DIR/worker.log:" >&2
    tail -20 "$DIR/worker.log" >&2
    return 0
  fi
  return 1
}

start() {
  mkdir -p "$DIR/work"
  if ! alive master && port_open "$PORT"; then
    echo "spark-cluster: port $PORT is taken by another process" >&2
    exit 1
  fi
  launch master org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$PORT" --webui-port "$MASTER_UI"
  if ! wait_for "master port $PORT answering" 60 port_open "$PORT"; then
    tail -20 "$DIR/master.log" >&2
    exit 1
  fi
  launch worker org.apache.spark.deploy.worker.Worker "spark://$HOST:$PORT" \
    --host "$HOST" --cores "$CORES" --memory "$MEMORY" --work-dir "$DIR/work" \
    --webui-port "$WORKER_UI"
  for ((i = 0; i < 120; i++)); do
    registered && break
    worker_died && exit 1
    sleep 0.5
  done
  if ! registered; then
    echo "spark-cluster: the worker did not register within 60s (log $DIR/worker.log)" >&2
    exit 1
  fi
  echo "spark-cluster: master spark://$HOST:$PORT (UI http://$HOST:$MASTER_UI), worker $CORES cores, $MEMORY"
}

stop_one() {
  local name="$1" pid
  if ! alive "$name"; then
    rm -f "$DIR/$name.pid"
    echo "spark-cluster: $name not running"
    return 0
  fi
  pid="$(cat "$DIR/$name.pid")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/$name.pid"
  echo "spark-cluster: $name stopped (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop)
    stop_one worker  # the worker ends its executors on the way out
    stop_one master
    ;;
  status)
    for name in master worker; do
      if alive "$name"; then echo "$name: running (pid $(cat "$DIR/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
