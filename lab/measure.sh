#!/usr/bin/env bash
# Runs a lab program RUNS times and prints its failure rate: the poor man's
# `tracer compare`, used to measure the rates quoted in the lab's docs.
#
#   lab/measure.sh 100 target/release/collector_race
#   lab/measure.sh 50 strace -f -o /dev/null target/release/collector_race
#
# Exit 1 counts as a failure (the race struck), exit 2 or anything else as an
# error (the program could not run), so a broken setup cannot pass for a race.
# The program's stdout goes to /dev/null: where it points changes timings.
set -u
if [ $# -lt 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 RUNS COMMAND [ARGS...]" >&2
    exit 2
fi
runs=$1
shift
failures=0
errors=0
last=""
err=$(mktemp)
trap 'rm -f "$err"' EXIT
start=$(date +%s%N)
for ((i = 0; i < runs; i++)); do
    "$@" >/dev/null 2>"$err"
    case $? in
        0) ;;
        1) failures=$((failures + 1)); last=$(grep -m1 '^FAIL' "$err") ;;
        *) errors=$((errors + 1)); last=$(tail -n1 "$err") ;;
    esac
done
end=$(date +%s%N)
echo "$failures/$runs failed ($((100 * failures / runs))%), $errors errors," \
    "$(((end - start) / runs / 1000000)) ms/run, load $(cut -d' ' -f1 /proc/loadavg): $*"
[ -n "$last" ] && echo "  last: $last"
exit 0
