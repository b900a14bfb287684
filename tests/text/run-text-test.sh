#!/usr/bin/env bash
# Runs one text test: usage `run-text-test.sh FILE.tir TESSERA FILECHECK`.
#
# Every `// RUN:` line of FILE is a shell pipeline (a line ending in `\` continues on the next
# RUN line). Before running, these words are substituted (see tests/text/README.md):
#   %s  the test file        %S  its directory        %t  a fresh scratch directory
#   %tessera  the binary     %FileCheck  FileCheck    %not  LLVM's `not` (inverts an exit code)
#   %python   python3
# Each pipeline runs under `bash -o pipefail` in the scratch directory; the test fails if any
# pipeline fails. On failure the command and its output are printed.
set -u
if [[ $# -ne 3 ]]; then
  echo "usage: $0 FILE.tir TESSERA FILECHECK" >&2
  exit 2
fi
file=$(realpath "$1")
tessera=$(realpath "$2")
filecheck=$3
for f in "$file" "$tessera" "$filecheck"; do
  [[ -e $f ]] || { echo "run-text-test: no such file: $f" >&2; exit 2; }
done
notbin=$(dirname "$filecheck")/not
[[ -x $notbin ]] || notbin=/usr/lib/llvm-16/bin/not
[[ -x $notbin ]] || { echo "run-text-test: LLVM's 'not' was not found" >&2; exit 2; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tessera-text.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Collect RUN commands, joining continuation lines.
cmds=()
pending=""
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*//[[:space:]]*RUN:(.*)$ ]] || continue
  part=${BASH_REMATCH[1]}
  if [[ $part =~ ^(.*)\\[[:space:]]*$ ]]; then
    pending+="${BASH_REMATCH[1]} "
    continue
  fi
  cmds+=("$pending$part")
  pending=""
done <"$file"
if [[ -n $pending ]]; then
  echo "$file: the last RUN line ends with '\\' but nothing follows" >&2
  exit 1
fi
if ((${#cmds[@]} == 0)); then
  echo "$file: no RUN lines" >&2
  exit 1
fi

# Longer names first, so %s does not eat the start of %S-free words like %tessera.
subst() {
  local c=$1
  c=${c//%tessera/$tessera}
  c=${c//%FileCheck/$filecheck}
  c=${c//%python/python3}
  c=${c//%not/$notbin}
  c=${c//%S/$(dirname "$file")}
  c=${c//%s/$file}
  c=${c//%t/$scratch}
  printf '%s' "$c"
}

status=0
for i in "${!cmds[@]}"; do
  cmd=$(subst "${cmds[$i]}")
  out=$(cd "$scratch" && bash -o pipefail -c "$cmd" 2>&1)
  rc=$?
  if ((rc != 0)); then
    echo "FAILED: RUN line $((i + 1)) of $file (exit code $rc)"
    echo "command: $cmd"
    echo "output:"
    echo "$out"
    status=1
  fi
done
exit $status
