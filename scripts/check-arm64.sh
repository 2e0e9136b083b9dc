#!/usr/bin/env bash
# Prove the Pi's architecture: build a Debian bookworm arm64 root file system (mmdebstrap, run by
# qemu-user through binfmt_misc), copy this checkout and the photos in, run the README's install
# there (scripts/install.sh with Debian's python3, python3-venv and npm), then deskpulse-edge evaluate
# on the photos there. Passes only if every file's file, expected and verdict columns and the JSON
# summary equal this checkout's .venv on this machine. Emulated inference is ~280x slower, so no
# timing from inside means anything.
# The registries are reached as this machine reaches them: its pip configuration (pip config list,
# the files it names, PIP_* variables), its CA certificates, npm's registry and CA settings, its
# resolver and hosts file and proxy variables are copied in; the Debian mirrors are this machine's
# bookworm ones (mmdebstrap's default when it has none).
# Needs root (mmdebstrap, chroot, mounts) and this checkout's .venv; installs mmdebstrap,
# qemu-user-static, binfmt-support and arch-test with apt-get when they are missing.
# Usage: scripts/check-arm64.sh [--photos DIR] [--keep] [--configured] [--wait-for-venv SECONDS]
#   --keep leaves the root file system; --configured installs the packages with dpkg and their
#   maintainer scripts (all emulated: several minutes more) instead of unpacking them;
#   --wait-for-venv lets CI start this before scripts/install.sh has made this checkout's .venv: the
#   .venv is needed only after the arm64 install, and this waits up to SECONDS for it then.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root="$(pwd)"
# shellcheck source=scripts/check-common.sh
. scripts/check-common.sh

photos_dir="" keep="" configured="" wait_for_venv=0
while [ $# -gt 0 ]; do
  case "$1" in
    --photos) photos_dir="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --configured) configured=1; shift ;;
    --wait-for-venv) wait_for_venv="$2"; shift 2 ;;
    *) echo "usage: scripts/check-arm64.sh [--photos DIR] [--keep] [--configured] [--wait-for-venv SECONDS]" >&2; exit 2 ;;
  esac
done

say() { echo "arm64: $*"; }
now() { date +%s; }
fail() {
  say "$* — FAIL"
  exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (mmdebstrap, chroot and mounts)"
no_venv="this checkout has no .venv to compare with: run scripts/install.sh --test first"
[ "$wait_for_venv" -gt 0 ] || [ -x .venv/bin/deskpulse-edge ] || fail "$no_venv"

workdir="$(mktemp -d "${TMPDIR:-/tmp}/deskpulse-arm64.XXXXXX")"
rootfs="$workdir/rootfs"
mounted_binfmt=""
cleanup() {
  local status=$?
  if [ -d "$rootfs" ]; then
    for point in sys dev proc; do
      if mountpoint -q "$rootfs/$point"; then umount -R "$rootfs/$point" || umount -R -l "$rootfs/$point"; fi
    done
  fi
  if [ -n "$mounted_binfmt" ]; then umount /proc/sys/fs/binfmt_misc 2>/dev/null; fi
  if [ -n "$keep" ]; then
    echo "arm64: kept the root file system in $rootfs"
  elif findmnt -rn -o TARGET | grep -q "^$workdir/"; then
    echo "arm64: something is still mounted under $workdir; not removing it"
  else
    rm -rf --one-file-system "$workdir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools and binfmt_misc -------------------------------------------------------------------------
missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || missing+=(binfmt-support)
command -v arch-test >/dev/null 2>&1 || missing+=(arch-test)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$workdir/apt.log" 2>&1 || { tail -n 20 "$workdir/apt.log"; fail "could not install ${missing[*]}"; }
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc || fail "cannot mount binfmt_misc"
  mounted_binfmt=1
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
  update-binfmts --import qemu-aarch64 >/dev/null 2>&1
arch-test arm64 >/dev/null 2>&1 || fail "this machine cannot run arm64 programs (binfmt_misc and qemu-user-static)"

# --- the root file system ---------------------------------------------------------------------------
# This machine's Debian bookworm mirrors (deb822 or one-line sources), for arm64.
sources="$workdir/sources.list"
{
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { uri = ""; for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { uri = $i; suite = $(i + 1); break }
                       if (uri != "" && suite ~ /^bookworm(-updates|-security)?$/) print uri, suite }'
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -e "$file" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = uris = suites = ""
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^Types:/) types = $i; if ($i ~ /^URIs:/) uris = $i; if ($i ~ /^Suites:/) suites = $i
           }
           if (types !~ /(^|[ :])deb( |$)/) next
           n = split(uris, u, " "); m = split(suites, s, " ")
           for (a = 2; a <= n; a++) for (b = 2; b <= m; b++)
             if (s[b] ~ /^bookworm(-updates|-security)?$/) print u[a], s[b] }' "$file"
  done
} | sort -u | awk '{ print "deb [arch=arm64] " $1 " " $2 " main" }' >"$sources"
mirror_args=()
[ -s "$sources" ] && mirror_args=("$sources")
# apt's proxy and date-check settings, as this machine's apt uses them.
aptopts=()
while IFS= read -r line; do aptopts+=(--aptopt="$line"); done < <(
  apt-config dump 2>/dev/null | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date|https?::Verify-Peer) '
)

started=$(now)
if [ ${#mirror_args[@]} -gt 0 ]; then mirrors="this machine's bookworm mirrors"; else mirrors="mmdebstrap's default mirrors"; fi
packages=python3,python3-venv,npm,ca-certificates
slim=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*')
if [ -n "$configured" ]; then
  # Every package installed by dpkg with its maintainer scripts, all run under emulation: ~7 CPU
  # minutes here, most of them for the ~340 node-* packages Debian's npm depends on.
  say "building a Debian bookworm arm64 root file system, packages configured (mmdebstrap, $mirrors)"
  build=(--variant=minbase --include="$packages" --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
else
  # The same packages (the essential set, $packages and their dependencies) unpacked by this
  # machine's dpkg-deb, without their maintainer scripts; what those would have made and the
  # programs need is made below. The binaries are the same Debian arm64 ones either way.
  say "building a Debian bookworm arm64 root file system, packages unpacked (mmdebstrap, $mirrors)"
  build=(--variant=extract --include='?essential' --include="$packages" --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
fi
if ! mmdebstrap --arch=arm64 "${build[@]}" "${slim[@]}" "${aptopts[@]}" \
  bookworm "$rootfs" "${mirror_args[@]}" >"$workdir/mmdebstrap.log" 2>&1; then
  tail -n 30 "$workdir/mmdebstrap.log"
  fail "mmdebstrap failed"
fi
if [ -z "$configured" ]; then
  # What base-passwd's and libc-bin's maintainer scripts make: the users and groups, the linker cache.
  cp "$rootfs/usr/share/base-passwd/passwd.master" "$rootfs/etc/passwd"
  cp "$rootfs/usr/share/base-passwd/group.master" "$rootfs/etc/group"
  chroot "$rootfs" /sbin/ldconfig || fail "ldconfig failed inside the arm64 root file system"
fi
rootfs_s=$(($(now) - started))

# --- what the registries need: resolver, CA certificates, pip and npm configuration -----------------
copy_in() { # copy_in FILE...: each existing file to the same path inside the root file system
  local file
  for file in "$@"; do
    if [ -f "$file" ]; then
      mkdir -p "$rootfs$(dirname "$file")"
      cp -L "$file" "$rootfs$file"
    fi
  done
}
copy_in /etc/resolv.conf /etc/hosts
# CA certificates: the local ones and the bundle this machine trusts (it includes the local ones).
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp -rL /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
fi
if [ -d /etc/ssl/certs ]; then
  mkdir -p "$rootfs/etc/ssl/certs"
  cp -rL /etc/ssl/certs/. "$rootfs/etc/ssl/certs/"
fi
# pip: its configuration files and every file they or PIP_* name (a cert, a constraints file).
pip_files=(/etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" "${PIP_CONFIG_FILE:-}")
if [ -n "${XDG_CONFIG_DIRS:-}" ]; then
  IFS=: read -r -a xdg_dirs <<<"$XDG_CONFIG_DIRS"
  for dir in "${xdg_dirs[@]}"; do pip_files+=("$dir/pip/pip.conf"); done
fi
named_files() { # paths in the text on stdin that are existing files on this machine
  tr ' =,"'"'"'' '\n' | sed 's|^file://||' | grep '^/' | while IFS= read -r path; do
    [ -f "$path" ] && echo "$path"
  done
}
for file in "${pip_files[@]}"; do copy_in "$file"; done
mapfile -t pip_named < <({ .venv/bin/python -m pip config list 2>/dev/null; env | grep '^PIP_'; } | named_files)
copy_in "${pip_named[@]}"
# npm: the registry and CA settings, the user's and the global npmrc, and the files they name.
npm_env=()
if command -v npm >/dev/null 2>&1; then
  registry="$(npm config get registry 2>/dev/null)"
  [ -n "$registry" ] && npm_env+=("NPM_CONFIG_REGISTRY=$registry")
  cafile="$(npm config get cafile 2>/dev/null)"
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -f "$cafile" ]; then
    copy_in "$cafile"
    npm_env+=("NPM_CONFIG_CAFILE=$cafile")
  fi
  userconfig="$(npm config get userconfig 2>/dev/null)"
  if [ -f "$userconfig" ]; then
    mkdir -p "$rootfs/root"
    cp -L "$userconfig" "$rootfs/root/.npmrc"
    mapfile -t npm_named < <(named_files <"$userconfig")
    copy_in "${npm_named[@]}"
  fi
  globalconfig="$(npm config get globalconfig 2>/dev/null)"
  if [ -f "$globalconfig" ]; then
    copy_in "$globalconfig"
    cp -L "$globalconfig" "$rootfs/etc/npmrc" # where Debian's npm reads it
    mapfile -t npm_named < <(named_files <"$globalconfig")
    copy_in "${npm_named[@]}"
  fi
fi
# The environment inside: a clean one, plus this machine's proxy, CA, pip and npm variables.
inside_env=(HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${npm_env[@]}")
# pip byte-compiles every installed module (~5,000 files, ~2 CPU minutes emulated); Python compiles
# what evaluate imports when it imports it. (PIP_COMPILE=0 is --no-compile; PIP_NO_COMPILE=1 is not.)
inside_env+=(PIP_COMPILE=0)
while IFS= read -r line; do
  inside_env+=("$line")
  value="${line#*=}"
  [ -f "$value" ] && copy_in "$value"
done < <(env | grep -E '^(PIP_[A-Z_]*|npm_config_[a-z_]*|NPM_CONFIG_[A-Z_]*|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)=')

# --- the checkout, the install inside ---------------------------------------------------------------
copy_checkout "$root" "$rootfs/root/deskpulse"
mount -t proc proc "$rootfs/proc"
mount --rbind /sys "$rootfs/sys" && mount --make-rslave "$rootfs/sys"
mount --rbind /dev "$rootfs/dev" && mount --make-rslave "$rootfs/dev"
inside() { chroot "$rootfs" /usr/bin/env -i "${inside_env[@]}" /bin/sh -c "cd /root/deskpulse && $1"; }

machine="$(inside 'uname -m')"
[ "$machine" = aarch64 ] || fail "the root file system runs as '$machine', not aarch64"
started=$(now)
if ! inside 'scripts/install.sh' >"$workdir/install.log" 2>&1; then
  grep -v '^WARNING: Location' "$workdir/install.log" | tail -n 30
  fail "scripts/install.sh failed inside the arm64 root file system"
fi
install_s=$(($(now) - started))
grep '^using ' "$workdir/install.log" | sed 's/^/arm64: install: /'
described="$(inside '.venv/bin/python -c "
import importlib.metadata as m, platform
print(platform.machine(), \"Python\", platform.python_version(), \"mediapipe\", m.version(\"mediapipe\"),
      \"numpy\", m.version(\"numpy\"), \"opencv-python-headless\", m.version(\"opencv-python-headless\"))
"' 2>>"$workdir/install.log")"
wheel="$(inside 'cat .venv/lib/python3*/site-packages/mediapipe-*.dist-info/WHEEL' 2>/dev/null | sed -n 's/^Tag: //p' | head -n 1)"
say "installed: $described (mediapipe wheel $wheel)"

# --- the x86_64 reference, then evaluate inside on the same photos -----------------------------------
if [ "$wait_for_venv" -gt 0 ]; then
  # scripts/install.sh writes this stamp (a hash of the dependency declarations) when pip is done.
  want="$(cat pyproject.toml packaging/opencv-contrib-python/pyproject.toml | sha256sum | cut -c1-16)"
  deadline=$(($(now) + wait_for_venv))
  until [ "$(cat .venv/.deskpulse-installed-test 2>/dev/null)" = "$want" ] ||
    [ "$(cat .venv/.deskpulse-installed 2>/dev/null)" = "$want" ]; do
    [ "$(now)" -lt "$deadline" ] || fail "$no_venv (waited $wait_for_venv s)"
    sleep 5
  done
fi
[ -x .venv/bin/deskpulse-edge ] || fail "$no_venv"
find_photos "$root" "$workdir" "$photos_dir"
host_arch="$(uname -m)"
.venv/bin/deskpulse-edge evaluate "$PHOTOS" >"$workdir/host.txt" 2>"$workdir/host.err" || {
  tail -n 20 "$workdir/host.err"
  fail "evaluate failed in this checkout's .venv"
}
say "reference: $host_arch, this checkout's .venv, on $PHOTOS_WHAT: $(summary_json "$workdir/host.txt")"
mkdir -p "$rootfs/root/photos"
cp -r "$PHOTOS/." "$rootfs/root/photos/"

started=$(now)
if ! inside '.venv/bin/deskpulse-edge evaluate /root/photos' >"$workdir/arm64.txt" 2>"$workdir/arm64.err"; then
  tail -n 20 "$workdir/arm64.err"
  fail "deskpulse-edge evaluate failed inside the arm64 root file system"
fi
evaluate_s=$(($(now) - started))
say "times: root file system ${rootfs_s} s, install ${install_s} s, evaluate ${evaluate_s} s (emulated)"

verdict_columns "$workdir/host.txt" >"$workdir/host.verdicts"
verdict_columns "$workdir/arm64.txt" >"$workdir/arm64.verdicts"
host_json="$(summary_json "$workdir/host.txt")"
arm_json="$(summary_json "$workdir/arm64.txt")"
files=$(wc -l <"$workdir/host.verdicts")
if [ "$host_json" != "$arm_json" ] || ! cmp -s "$workdir/host.verdicts" "$workdir/arm64.verdicts"; then
  echo "--- file, expected, verdict: $host_arch against aarch64"
  diff <(cat "$workdir/host.verdicts"; echo "$host_json") <(cat "$workdir/arm64.verdicts"; echo "$arm_json")
  fail "$files files, verdicts differ from $host_arch"
fi
say "evaluate inside: $arm_json"
say "$files files, verdicts identical to $host_arch — PASS"
