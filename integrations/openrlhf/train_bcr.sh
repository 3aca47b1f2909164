#!/usr/bin/env bash
# BCR with OpenRLHF: starts `bcr serve-reward`, waits for its /health, launches OpenRLHF's PPO/GRPO
# trainer with --remote_rm_url pointing at it and our exported dataset as --prompt_data, and stops
# the server when the script exits (normally, on error, or on SIGINT/SIGTERM: trap below).
#
#   integrations/openrlhf/train_bcr.sh --pretrain MODEL [options] [-- extra OpenRLHF flags]
#   integrations/openrlhf/train_bcr.sh --dry-run [options]   # start the server, check /health,
#                                                           # print the exact command, stop, exit 0
# Options (defaults in brackets):
#   --data FILE         OpenRLHF JSONL from `bcr export-dataset` [data/bcr/train.openrlhf.jsonl]
#   --pretrain PATH     the policy to train (required unless --dry-run) [<MODEL>]
#   --max-length N      the shared response budget: serve-reward --max-length and --generate_max_len [5120]
#   --port N            reward server port; 0 picks a free one [5000]
#   --host HOST         interface the server binds [127.0.0.1]; 0.0.0.0 when Ray workers on other
#                       nodes call it (no authentication: keep it inside the cluster network)
#   --url-host HOST     host written into --remote_rm_url [--host, or this machine's first address for 0.0.0.0]
#   --shaping NAME, --param K=V   passed to serve-reward (default: accuracy, the BCR reward)
#   --save-path DIR     OpenRLHF --save_path [checkpoints/bcr]
#   --trainer CMD       the trainer command, split at spaces (no quoting) [python3 -m openrlhf.cli.train_ppo_ray]; e.g.
#                       "ray job submit --address=http://127.0.0.1:8265 -- python3 -m openrlhf.cli.train_ppo_ray"
#   --log FILE          the reward server's log [a temporary file, removed on exit]
# Environment: BCR_CLI, the command that runs the bcr CLI [node <repo>/bin/bcr.js].
# Exit status: the trainer's; 2 for a usage or data error; 1 when the server does not come up.
# Needs bash, curl and node; nothing else. The OpenRLHF flags follow docs/distributed.md section 3
# (the JustRL recipe); check them against `python3 -m openrlhf.cli.train_ppo_ray --help`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="data/bcr/train.openrlhf.jsonl"
PRETRAIN=""
MAX_LENGTH=5120
PORT=5000
HOST=127.0.0.1
URL_HOST=""
SAVE_PATH="checkpoints/bcr"
TRAINER="python3 -m openrlhf.cli.train_ppo_ray"
LOG=""
DRY_RUN=0
SERVE_ARGS=()
EXTRA=()

die() { echo "train_bcr.sh: $*" >&2; exit 2; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) need_value "$@"; DATA="$2"; shift 2 ;;
    --pretrain) need_value "$@"; PRETRAIN="$2"; shift 2 ;;
    --max-length) need_value "$@"; MAX_LENGTH="$2"; shift 2 ;;
    --port) need_value "$@"; PORT="$2"; shift 2 ;;
    --host) need_value "$@"; HOST="$2"; shift 2 ;;
    --url-host) need_value "$@"; URL_HOST="$2"; shift 2 ;;
    --shaping | --param) need_value "$@"; SERVE_ARGS+=("$1" "$2"); shift 2 ;;
    --save-path) need_value "$@"; SAVE_PATH="$2"; shift 2 ;;
    --trainer) need_value "$@"; TRAINER="$2"; shift 2 ;;
    --log) need_value "$@"; LOG="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) die "unknown option '$1' (OpenRLHF flags go after --; see --help)" ;;
  esac
done

[[ "$MAX_LENGTH" =~ ^[1-9][0-9]*$ ]] || die "--max-length must be a positive integer, got '$MAX_LENGTH'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number, got '$PORT'"
# The data must be there and non-empty before anything starts (nothing to stop on a typo).
[[ -f "$DATA" ]] || die "$DATA: no such file (write it with: bcr export-dataset --out DIR --format openrlhf ...)"
[[ -n "$(grep -m1 -v '^[[:space:]]*$' "$DATA" || true)" ]] || die "$DATA: empty data file"
if [[ $DRY_RUN -eq 0 && -z "$PRETRAIN" ]]; then die "--pretrain is required (the model to train)"; fi
[[ -n "$PRETRAIN" ]] || PRETRAIN="<MODEL>"
if [[ -z "$URL_HOST" ]]; then
  URL_HOST="$HOST"
  if [[ "$HOST" == "0.0.0.0" ]]; then URL_HOST="$(hostname -I 2>/dev/null | awk '{print $1}')"; URL_HOST="${URL_HOST:-127.0.0.1}"; fi
fi

KEEP_LOG=1
if [[ -z "$LOG" ]]; then LOG="$(mktemp "${TMPDIR:-/tmp}/bcr-reward.XXXXXX")"; KEEP_LOG=0; fi
read -r -a BCR <<<"${BCR_CLI:-node $ROOT/bin/bcr.js}"

SERVER_PID=""
TRAINER_PID=""
# Stop the trainer (if any) and the server: SIGTERM lets the server answer what it has received
# (it drains), SIGKILL after 40 s (its drain timeout is 30 s) so the script never hangs.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$TRAINER_PID" ]] && kill -0 "$TRAINER_PID" 2>/dev/null; then kill -TERM "$TRAINER_PID" 2>/dev/null || true; wait "$TRAINER_PID" 2>/dev/null || true; fi
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 400); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    echo "train_bcr.sh: reward server (pid $SERVER_PID) stopped" >&2
  fi
  [[ $KEEP_LOG -eq 1 ]] || rm -f "$LOG"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

(cd "$ROOT" && exec "${BCR[@]}" serve-reward --host "$HOST" --port "$PORT" --max-length "$MAX_LENGTH" --quiet ${SERVE_ARGS[@]+"${SERVE_ARGS[@]}"}) >>"$LOG" 2>&1 &
SERVER_PID=$!

# Wait (at most 60 s) for the server to print its URL, then for /health to answer 200.
URL=""
for _ in $(seq 1 600); do
  URL="$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$LOG" | head -n1)"
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "train_bcr.sh: the reward server exited:" >&2; cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "train_bcr.sh: no reward server after 60 s:" >&2; cat "$LOG" >&2; exit 1; }
BOUND_PORT="${URL##*:}"
HEALTH="$(curl -fsS --max-time 10 "$URL/health" 2>&1)" \
  || { echo "train_bcr.sh: /health failed: $HEALTH" >&2; exit 1; }
RM_URL="http://$URL_HOST:$BOUND_PORT/get_reward"
echo "train_bcr.sh: reward server pid $SERVER_PID at $URL, /health: $HEALTH" >&2

read -r -a TRAINER_CMD <<<"$TRAINER"
CMD=("${TRAINER_CMD[@]}"
  --pretrain "$PRETRAIN"
  --prompt_data "$DATA" --input_key input --label_key label --apply_chat_template
  --remote_rm_url "$RM_URL"
  --prompt_max_len 1024 --generate_max_len "$MAX_LENGTH"
  --n_samples_per_prompt 8 --advantage_estimator group_norm
  --init_kl_coef 0 --entropy_loss_coef 0
  --eps_clip_low_high 0.2 0.28
  --actor_learning_rate 1e-6 --lr_warmup_ratio 0 --max_norm 1.0
  --temperature 1.0
  --rollout_batch_size 128 --micro_rollout_batch_size 16 --train_batch_size 1024 --micro_train_batch_size 4
  --num_episodes 1 --max_epochs 1
  --bf16 --gradient_checkpointing --flash_attn
  --save_path "$SAVE_PATH" --logging_steps 1
  ${EXTRA[@]+"${EXTRA[@]}"})

if [[ $DRY_RUN -eq 1 ]]; then
  printf '%q ' "${CMD[@]}" | sed 's/ $//'
  echo
  exit 0
fi

# In the background and waited for, so a SIGTERM to this script runs the trap at once (bash
# defers traps while a foreground child runs).
"${CMD[@]}" &
TRAINER_PID=$!
set +e
wait "$TRAINER_PID"
STATUS=$?
set -e
TRAINER_PID=""
exit "$STATUS"
