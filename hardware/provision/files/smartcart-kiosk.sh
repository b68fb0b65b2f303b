#!/bin/sh
# Runs inside cage (see smartcart-kiosk.service): turn the Touch Display 2 from its native
# portrait 720x1280 to the landscape the cart's screen page is laid out for, then show the
# firmware's local page full-screen. wlroots rotates touch input with the output.
set -eu

output=${SMARTCART_SCREEN_OUTPUT:-DSI-1}
rotate=${SMARTCART_SCREEN_ROTATE:-90}
url=${SMARTCART_SCREEN_URL:-http://127.0.0.1:8765/}

if [ "$rotate" != 0 ]; then
    wlr-randr --output "$output" --transform "$rotate" \
        || echo "smartcart-kiosk: could not rotate $output by $rotate; showing it unrotated" >&2
fi

# Wait for the firmware's screen server (it starts with the cart service) instead of showing
# Chromium's error page to the first shopper.
tries=0
until curl --silent --output /dev/null "$url" || [ "$tries" -ge 60 ]; do
    tries=$((tries + 1))
    sleep 1
done

exec chromium --kiosk --noerrdialogs --disable-infobars --no-first-run \
    --disable-session-crashed-bubble --ozone-platform=wayland --app="$url"
