#!/usr/bin/env bash
# Adds a login and its topic rules to the spanreid mosquitto files:
#   add-login.sh camera <site> <camera> <password>   login "<site>-<camera>"
#   add-login.sh hub <name> <password>               login <name> (also the hub's client id)
#   add-login.sh consumer <name> <password>          reads match events only
# Files: $PASSWD (default /etc/mosquitto/spanreid.passwd), $ACL (default
# /etc/mosquitto/spanreid.acl). Reload mosquitto afterwards (systemctl reload mosquitto).
set -euo pipefail
PASSWD=${PASSWD:-/etc/mosquitto/spanreid.passwd}
ACL=${ACL:-/etc/mosquitto/spanreid.acl}

usage() {
  sed -n '2,6p' "$0" >&2
  exit 2
}

add_password() {
  local user=$1 password=$2
  [ -f "$PASSWD" ] || install -m 0600 /dev/null "$PASSWD"
  mosquitto_passwd -b "$PASSWD" "$user" "$password"
}

case "${1:-}" in
camera)
  [ $# -eq 4 ] || usage
  site=$2 camera=$3 user="$2-$3"
  add_password "$user" "$4"
  printf '\nuser %s\ntopic write spanreid/v1/%s/%s/signature\ntopic write spanreid/v1/%s/%s/status\ntopic read spanreid/v1/%s/%s/receipt\n' \
    "$user" "$site" "$camera" "$site" "$camera" "$site" "$camera" >>"$ACL"
  echo "camera login $user: set [mqtt] username = \"$user\" in its edge-agent config"
  ;;
hub)
  [ $# -eq 3 ] || usage
  add_password "$2" "$3"
  printf '\nuser %s\ntopic read spanreid/v1/+/+/signature\ntopic read spanreid/v1/+/+/status\ntopic write spanreid/v1/+/+/receipt\ntopic write spanreid/v1/match\n' \
    "$2" >>"$ACL"
  echo "hub login $2: set [mqtt] username = client_id = \"$2\" in its config"
  ;;
consumer)
  [ $# -eq 3 ] || usage
  add_password "$2" "$3"
  printf '\nuser %s\ntopic read spanreid/v1/match\n' "$2" >>"$ACL"
  ;;
*) usage ;;
esac
