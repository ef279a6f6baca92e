#!/usr/bin/env bash
# The study that decides which feedback mechanism earns its place, as one
# resumable background job (benchmarks/README.md, "The feedback mechanisms").
#
#   bash benchmarks/method_study.sh screen              # width 32, 3,000 steps, 3 seeds
#   bash benchmarks/method_study.sh finalists A,B,C     # the default width (64), 5 seeds
#   bash benchmarks/method_study.sh long A,B,C          # digits at three times the budget
#
# The finalists run beside a control, the plain GAN (`baseline`) unless a
# third argument names another (`baseline_bf16` for finalists in bfloat16).
#
# Each stage is benchmarks/quality.py over its grid; a finished run leaves a
# record and is skipped when the stage runs again, so the job can be stopped
# and continued (a run stopped half-way starts again from step 0). The runs
# use a snapshot of the committed code (a detached git worktree), so editing
# the working tree while the job runs cannot change what it measures; the
# records and reports land in this checkout's benchmarks/results/ (remove the
# snapshot afterwards with `git worktree remove --force PATH`).
set -euo pipefail

stage=${1:-}
finalists=${2:-}
control=${3:-baseline}
case $stage in
  screen) ;;
  finalists | long)
    if [ -z "$finalists" ]; then
      echo "method_study.sh: '$stage' takes the finalists, comma-separated (e.g. verdict_no_mi_blobs)" >&2
      exit 2
    fi
    ;;
  *)
    echo "method_study.sh: unknown stage '$stage'; use screen, finalists or long" >&2
    exit 2
    ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
snapshot=${TMPDIR:-/tmp}/keras-attngan-study-$(git -C "$root" rev-parse --short HEAD)
if [ ! -d "$snapshot" ]; then
  git -C "$root" worktree add --detach --quiet "$snapshot" HEAD
  # Results and runs go to this checkout, under the paths the reports name.
  rm -rf "$snapshot/benchmarks/results"
  mkdir -p "$root/runs"
  ln -s "$root/benchmarks/results" "$snapshot/benchmarks/results"
  ln -s "$root/runs" "$snapshot/runs"
fi

# The screen, most promising first: the plain GAN, the control with U-Net
# GAN's D alone, the verdict and Grad-CAM mechanisms with the blob prior; then
# the others, each alone and with the seed's inner loop.
first="baseline,baseline_verdict,verdict_no_mi_blobs,blobs_alignment"
rest="alignment,verdict_no_mi,verdict_cutmix,inner_loop,verdict,verdict_alignment,xai"

study() {  # NAME STEPS SEEDS DATASETS VARIANTS [--set ...]
  local name=$1 steps=$2 seeds=$3 datasets=$4 variants=$5
  shift 5
  (cd "$snapshot" && "$python" benchmarks/quality.py --datasets "$datasets" --variants "$variants" \
    --seeds "$seeds" --steps "$steps" "$@" \
    --results "benchmarks/results/$name" --workdir "runs/$name")
}

case $stage in
  screen)
    narrow=(--set model.g_width=32 --set model.d_width=32)
    study method_screen 3000 3 symbols,digits "$first" "${narrow[@]}"
    study method_screen 3000 3 symbols,digits "$rest" "${narrow[@]}"
    # Each call reports its own variants; the last report holds them all.
    study method_screen 3000 3 symbols,digits "$first,$rest" "${narrow[@]}" --report
    ;;
  finalists)
    study method_finalists 3000 5 symbols,digits "$control,$finalists" --control "$control"
    ;;
  long)
    study method_long 9000 5 digits "$control,$finalists" --control "$control"
    ;;
esac
