#!/usr/bin/env bash
# Make sure every Debian package in tools/deps/debian-packages.txt is installed.
# As root on Debian: install what is missing with apt-get. Otherwise: fail, naming each missing tool,
# because a test that silently skips for want of a tool proves nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
list="$root/tools/deps/debian-packages.txt"

missing_pkgs=()
missing_cmds=()
while read -r pkg cmd; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  if [[ "$cmd" == "-" ]]; then
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing_pkgs+=("$pkg"); missing_cmds+=("$pkg (package)")
    fi
  elif ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x "$cmd" ]] && [[ ! -x "/usr/sbin/$cmd" && ! -x "/sbin/$cmd" ]]; then
    missing_pkgs+=("$pkg"); missing_cmds+=("$cmd (package $pkg)")
  fi
done < "$list"

if (( ${#missing_pkgs[@]} == 0 )); then
  exit 0
fi

if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "debian-deps: installing ${missing_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
  exit 0
fi

echo "debian-deps: missing tools the tests need: ${missing_cmds[*]}" >&2
echo "debian-deps: install them (as root: apt-get install ${missing_pkgs[*]}) and run again." >&2
exit 1
