#!/usr/bin/env bash
# Create broker/passwords for mosquitto.conf with generated passwords for one user per node,
# "viewer" (sees frames) and "control" (Home Assistant, dashboard controls). No default password exists.
#
# Usage: scripts/make-passwords.sh [--rotate] NODE_ID [NODE_ID ...]
#
# Each password is written once to broker/credentials/<user>.password (mode 0600, git-ignored) and
# never printed; running the script again keeps existing passwords (adds new nodes), --rotate makes new
# ones for every user. broker/passwords holds only salted hashes (mosquitto_passwd -U).
# Run it as the user that starts mosquitto. See docs/mosquitto.md.
set -euo pipefail
cd "$(dirname "$0")/.."

RESERVED_USERS=(viewer control)

die() {
  echo "make-passwords: $*" >&2
  exit 2
}

usage() {
  echo "usage: scripts/make-passwords.sh [--rotate] NODE_ID [NODE_ID ...]" >&2
  echo "  NODE_ID: the node's --node-id ([a-z0-9_-]+); it becomes the node's broker user name" >&2
  exit 2
}

rotate=0
nodes=()
for arg in "$@"; do
  case "$arg" in
    --rotate) rotate=1 ;;
    -h | --help) usage ;;
    -*) die "unknown option $arg" ;;
    *) nodes+=("$arg") ;;
  esac
done

command -v mosquitto_passwd >/dev/null 2>&1 ||
  die "mosquitto_passwd not found: install mosquitto (sudo apt-get install mosquitto mosquitto-clients)"

mkdir -p broker/credentials
chmod 700 broker/credentials

# Nodes given now plus nodes created before, so adding a node never drops another.
shopt -s nullglob
for file in broker/credentials/*.password; do
  user="$(basename "$file" .password)"
  case " ${RESERVED_USERS[*]} " in *" $user "*) continue ;; esac
  case " ${nodes[*]:-} " in *" $user "*) ;; *) nodes+=("$user") ;; esac
done
shopt -u nullglob
[ "${#nodes[@]}" -gt 0 ] || usage

for node in "${nodes[@]}"; do
  [[ "$node" =~ ^[a-z0-9_-]+$ ]] || die "node id '$node' must use only a-z, 0-9, '_' and '-'"
  case " ${RESERVED_USERS[*]} " in
    *" $node "*) die "'$node' is reserved for the $node user; pick another node id" ;;
  esac
done

new_password() {
  # 18 random bytes = 144 bits, URL-safe so it also works inside mqtt://user:pass@host URLs.
  head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}

umask 077
plain="$(mktemp broker/passwords.XXXXXX)"
trap 'rm -f "$plain"' EXIT
users=("${nodes[@]}" "${RESERVED_USERS[@]}")
declare -A status
for user in "${users[@]}"; do
  file="broker/credentials/$user.password"
  if [ "$rotate" = 1 ] || [ ! -s "$file" ]; then
    [ -s "$file" ] && status[$user]="new password" || status[$user]="created"
    new_password >"$file.tmp"
    mv "$file.tmp" "$file"
  else
    status[$user]="kept"
  fi
  chmod 600 "$file"
  printf '%s:%s\n' "$user" "$(head -n 1 "$file")" >>"$plain"
done
mosquitto_passwd -U "$plain"

mkdir -p broker/data
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
  # mosquitto started as root reads the password file and writes persistence as user "mosquitto".
  chgrp mosquitto "$plain"
  chmod 640 "$plain"
  chown mosquitto: broker/data
  chmod 700 broker/data
else
  chmod 600 "$plain"
fi
mv "$plain" broker/passwords
trap - EXIT

if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
  if ! runuser -u mosquitto -- test -r broker/passwords -a -r broker/acl -a -r mosquitto.conf; then
    echo "warning: user 'mosquitto' cannot read $PWD/broker/passwords or broker/acl; mosquitto started" \
      "as root drops to that user. Make the folders on that path readable (chmod o+x) or start" \
      "mosquitto as yourself (docs/mosquitto.md)." >&2
  fi
fi

roles() {
  case "$1" in
    viewer) echo "dashboard sign-in: sees frames" ;;
    control) echo "Home Assistant and dashboard controls" ;;
    *) echo "node $1: publishes deskpulse/$1/..." ;;
  esac
}

echo "Broker users in broker/passwords (hashed). Passwords are in broker/credentials/ only:"
for user in "${users[@]}"; do
  printf '  %-10s broker/credentials/%s.password (%s) - %s\n' \
    "$user" "$user" "${status[$user]}" "$(roles "$user")"
done
first="${nodes[0]}"
cat <<EOF

Next steps (from $PWD):
  mosquitto -c mosquitto.conf          # a running mosquitto reloads users on: kill -HUP <its pid>
  DESKPULSE_MQTT__USERNAME=$first DESKPULSE_MQTT__PASSWORD_FILE=broker/credentials/$first.password \\
    .venv/bin/deskpulse-edge --broker mqtt://127.0.0.1:1883 --node-id $first --source 0
  Dashboard: http://<this machine>:9001/ (anonymous: state only; sign in as viewer or control).
  Show a password to sign in with: cat broker/credentials/control.password
EOF
