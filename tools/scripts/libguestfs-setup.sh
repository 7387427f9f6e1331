#!/bin/sh
# Makes virt-inspector — the peer `npm run bench -- image-check` measures xenkit against — runnable on a
# machine like a Xen dom0 or a container: no KVM and no host kernel in /boot or /lib/modules. supermin
# builds libguestfs's appliance from a kernel and its modules; we give it the Debian cloud kernel that
# `npm run fixtures` pins (the bench points SUPERMIN_KERNEL at it and sets force_tcg when /dev/kvm is
# missing). supermin copies modules only from /lib/modules/VERSION and needs modules.dep there, so the
# modules are installed there and indexed. Run as root, once per machine.
set -eu
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then echo "libguestfs-setup: run as root (it apt-get installs and writes /lib/modules)" >&2; exit 2; fi
command -v virt-inspector >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libguestfs-tools
command -v depmod >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kmod
root=node_modules/.cache/xenkit-fixtures/debian-cloud-kernel/root
[ -d "$root/lib/modules" ] || npm run --silent fixtures
for dir in "$root"/lib/modules/*; do
  version=$(basename "$dir")
  [ -d "/lib/modules/$version" ] || { mkdir -p /lib/modules && cp -a "$dir" "/lib/modules/$version"; }
  depmod -a "$version"
  echo "libguestfs-setup: /lib/modules/$version ready"
done
