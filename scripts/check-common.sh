# shellcheck shell=bash disable=SC2034  # sets PHOTOS and PHOTOS_WHAT for the script that sources it
# Shared by scripts/check-pythons.sh and scripts/check-arm64.sh (sourced, not run).
# Both compare a fresh install's `deskpulse-edge evaluate` with this checkout's .venv on the same photos.

# copy_checkout ROOT DEST: the checkout's files as a fresh clone has them (tracked and untracked, never
# ignored ones such as .venv or node_modules), including changes not yet committed.
copy_checkout() {
  mkdir -p "$2"
  git -C "$1" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
      if [ -e "$1/$file" ] || [ -L "$1/$file" ]; then printf '%s\0' "$file"; fi
    done |
    tar -C "$1" --null -T - -cf - | tar -C "$2" -xf -
}

# find_photos ROOT WORKDIR [DIR]: set PHOTOS and PHOTOS_WHAT. DIR if given, else the licensed set
# ../shared/data/posture beside the checkout when present, else scikit-image's astronaut written to
# WORKDIR/photos/good/ by ROOT/.venv (scikit-image is a test extra: scripts/install.sh --test).
find_photos() {
  local root="$1" workdir="$2" given="${3:-}"
  if [ -n "$given" ]; then
    PHOTOS="$(cd "$given" && pwd)" PHOTOS_WHAT="the photos in $given"
  elif [ -d "$root/../shared/data/posture" ]; then
    PHOTOS="$(cd "$root/../shared/data/posture" && pwd)" PHOTOS_WHAT="the licensed photos in ../shared/data/posture"
  else
    mkdir -p "$workdir/photos/good"
    "$root/.venv/bin/python" -c '
import sys
import cv2
from skimage import data
cv2.imwrite(sys.argv[1], data.astronaut()[:, :, ::-1])
' "$workdir/photos/good/skimage_astronaut.png"
    PHOTOS="$workdir/photos" PHOTOS_WHAT="scikit-image's astronaut (../shared/data/posture is absent)"
  fi
}

# verdict_columns EVALUATE_OUTPUT: the file, expected and verdict columns of every per-file line.
verdict_columns() {
  awk -F '  +' '!/^\{/ && NF >= 3 { print $1 "  " $2 "  " $3 }' "$1"
}

# summary_json EVALUATE_OUTPUT: evaluate's last line, the JSON summary.
summary_json() {
  grep '^{' "$1" | tail -n 1
}

# short_json JSON: its first three fields, for a result line.
short_json() {
  printf '%s\n' "$1" | sed -E 's/^(\{[^,]*,[^,]*,[^,]*),.*/\1, …}/'
}
