#!/usr/bin/env bash
# Install the Debian packages l1ad uses (yosys, iverilog) when they are missing.
# Never fails the build: without them, resource estimates / the Icarus simulator are skipped with a message.
set -u
missing=()
command -v yosys >/dev/null 2>&1 || missing+=(yosys)
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "l1ad: apt-get not available; not installing ${missing[*]} (resource estimates / Icarus runs will be skipped)." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "l1ad: not root; install ${missing[*]} yourself for resource estimates / Icarus runs." >&2
    exit 0
  fi
fi
echo "l1ad: installing Debian packages: ${missing[*]}"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/l1ad-apt.log 2>&1; then
  echo "l1ad: could not install ${missing[*]} (see /tmp/l1ad-apt.log); continuing without them." >&2
fi
exit 0
