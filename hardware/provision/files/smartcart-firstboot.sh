#!/bin/sh
# First boot of a freshly imaged cart (run once by cloud-init's runcmd, as root).
#
# 1. Fetch the first firmware bundle (a fixed release, not the moving channel) and check it against the SHA-256 pinned in user-data
#    (nothing from it runs before that check).
# 2. Install its wheels into a throw-away bootstrap venv, just to run the fleet tool, which
#    verifies the bundle's signature and checksums and installs it properly into slot a.
# 3. Generate the cart's event-signing key on the cart (the private key never leaves it) and
#    leave its enrolment line in /etc/smartcart/cart.enrol for the host's `keys enrol`.
# 4. Enable the cart, kiosk, update timer and boot-recovery units.
#
# Re-running is safe: the fleet tool reports "already_current" for an installed bundle.
set -eu

# shellcheck source=/dev/null  # written by cloud-init from the cart's user-data
. /etc/smartcart/fleet.env
: "${SMARTCART_CART_ID:?missing from /etc/smartcart/fleet.env}"
: "${SMARTCART_FIRST_BUNDLE_URL:?missing from /etc/smartcart/fleet.env}"
: "${SMARTCART_FIRST_BUNDLE_SHA256:?missing from /etc/smartcart/fleet.env}"

work=/var/lib/smartcart-provision
mkdir -p "$work"
bundle="$work/bundle.tar"

curl --fail --silent --show-error --location --retry 10 --retry-delay 15 \
    --output "$bundle" "$SMARTCART_FIRST_BUNDLE_URL"
echo "$SMARTCART_FIRST_BUNDLE_SHA256  $bundle" | sha256sum --check --strict -

rm -rf "$work/unpacked" "$work/bootstrap"
mkdir -p "$work/unpacked"
tar -xf "$bundle" -C "$work/unpacked" payload/wheels
# --system-site-packages: picamera2 comes from the OS (python3-picamera2), not from PyPI.
python3 -m venv --system-site-packages "$work/bootstrap"
"$work/bootstrap/bin/pip" install --quiet --no-index \
    --find-links "$work/unpacked/payload/wheels" 'smartcart[cart]'

# --force: the cart service is not running yet, so there is no idle/docked status to read;
# --health none: nothing to roll back to on a first install.
"$work/bootstrap/bin/smartcart" cart fleet apply "$bundle" --force --health none

rm -rf "$work/unpacked" "$work/bootstrap"

smartcart=/opt/smartcart/current/venv/bin/smartcart
if [ ! -f /etc/smartcart/cart.key ]; then
    "$smartcart" cart key new --cart "$SMARTCART_CART_ID" --out /etc/smartcart/cart.key \
        > /etc/smartcart/cart.enrol
fi
chgrp smartcart /etc/smartcart/cart.key
chmod 0640 /etc/smartcart/cart.key
echo "smartcart: enrol this cart at the host: smartcart host keys enrol $(cut -d' ' -f1,3 /etc/smartcart/cart.enrol)"

systemctl daemon-reload
systemctl enable --now smartcart-cart.service smartcart-fleet.timer
systemctl enable smartcart-fleet-recover.service
systemctl set-default graphical.target
systemctl enable --now smartcart-kiosk.service
"$smartcart" cart fleet status
