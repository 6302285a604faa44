#!/usr/bin/env bash
# End-to-end test of sana-service on the bundled tiny model:
#   examples/go-service/test.sh WORKDIR [MODEL]
# Needs go, curl, chromium and python3 with Pillow; PKG_CONFIG_PATH/LD_LIBRARY_PATH must reach
# libsana. Starts the service on 127.0.0.1 (a free port), sends concurrent requests with curl,
# then opens the web page in headless Chromium and checks that the screenshot shows an image.
# While libsana answers SANA_ERR_UNSUPPORTED "... not implemented yet" the test says
# "expected-unsupported" and checks that exact error instead (the page must then show it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$1
MODEL=${2:-$ROOT/tests/fixtures/sana_tiny}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
rm -rf "$WORK" && mkdir -p "$WORK"

(cd "$HERE" && go build -o "$WORK/sana-service" .)

PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; true; }
trap cleanup EXIT
"$WORK/sana-service" -model "$MODEL" -addr 127.0.0.1:0 -port-file "$WORK/port" -contexts 2 \
    -threads 1 -width 96 -height 128 -steps 2 >"$WORK/service.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/port" ] && break
    if ! kill -0 "$PID" 2>/dev/null; then
        cat "$WORK/service.log"
        PID=""
        if grep -q "SANA_ERR_UNSUPPORTED.*not implemented yet" "$WORK/service.log"; then
            echo "service: expected-unsupported (the model does not load yet: $(grep -o 'not supported.*' "$WORK/service.log" | head -1))"
            exit 0
        fi
        echo "service: FAILED to start"; exit 1
    fi
    sleep 0.2
done
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT
curl -sf "$URL/healthz" && echo

# --- concurrent requests (2 contexts, 6 requests: the queue is used; seeds repeat) ----------
CURLS=()
for i in 1 2 3 4 5 6; do
    seed=$(( (i - 1) % 3 + 1 ))
    curl -s -o "$WORK/r$i.body" -w "%{http_code} %{content_type}\n" -X POST \
         -H 'Content-Type: application/json' \
         -d "{\"prompt\": \"a red fox in the snow\", \"seed\": $seed, \"width\": 96, \"height\": 128}" \
         "$URL/v1/images/generations" >"$WORK/r$i.status" &
    CURLS+=($!)
done
wait "${CURLS[@]}"  # not a bare wait: the service is a child too
cat "$WORK"/r*.status
# Malformed requests get a 400 with a JSON error.
code=$(curl -s -o "$WORK/bad.body" -w "%{http_code}" -X POST -d '{"seed": 1}' "$URL/v1/images/generations")
[ "$code" = 400 ] && grep -q '"prompt is required"' "$WORK/bad.body" || { echo "missing prompt: HTTP $code"; exit 1; }

MODE=$("$PY" - "$WORK" <<'PYEOF'
import json, sys, os
from PIL import Image
import numpy as np
work = sys.argv[1]
status = [open(f"{work}/r{i}.status").read().split() for i in range(1, 7)]
if all(s[0] == "501" for s in status):
    errors = [json.load(open(f"{work}/r{i}.body"))["error"] for i in range(1, 7)]
    assert all(e["status"] == "SANA_ERR_UNSUPPORTED" and "not implemented yet" in e["message"]
               for e in errors), errors
    print("unsupported")
    sys.exit(0)
assert all(s == ["200", "image/png"] for s in status), status
imgs = [np.asarray(Image.open(f"{work}/r{i}.body")) for i in range(1, 7)]
for a in imgs:
    assert a.shape == (128, 96, 3), a.shape
    assert a.std() > 1.0, "uniform image"
# Requests 1/4, 2/5, 3/6 share a seed (and ran on either context): same pixels.
for i in range(3):
    assert np.array_equal(imgs[i], imgs[i + 3]), f"seed {i + 1}: two requests differ"
assert not np.array_equal(imgs[0], imgs[1]), "different seeds gave the same image"
print("ok")
PYEOF
)
echo "requests: $MODE"

# --- the web page in headless Chromium ----------------------------------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
PAGE="$URL/?prompt=a%20lighthouse%20on%20a%20cliff&seed=7&autorun=1"
chrome() {
    "$CHROME" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
        --no-first-run --user-data-dir="$WORK/chrome-profile" --window-size=800,640 \
        --virtual-time-budget=120000 "$@" "$PAGE" 2>>"$WORK/chrome.log"
}
chrome --dump-dom >"$WORK/page.html"
chrome --screenshot="$WORK/page.png" >/dev/null
grep -o '<div id="status">[^<]*' "$WORK/page.html" | sed 's/<div id="status">/page status: /'
"$PY" - "$WORK" "$MODE" <<'PYEOF'
import re, sys
from PIL import Image
import numpy as np
work, mode = sys.argv[1], sys.argv[2]
dom = open(f"{work}/page.html").read()
state = re.search(r'<body data-state="(\w+)"', dom).group(1)
shot = np.asarray(Image.open(f"{work}/page.png").convert("RGB")).astype(int)
assert shot.shape[:2] == (640, 800), shot.shape
header = shot[5:40, 300:700]
assert (header == [31, 59, 87]).all(axis=-1).mean() > 0.9, "the page header did not render"
frame = shot[202:584, 22:404]  # #frame: left 20, top 200, 384x384 (+1 px border)
colors = len(np.unique(frame.reshape(-1, 3), axis=0))
print(f"screenshot: image region std {frame.std():.1f}, {colors} colours; page state {state}")
if mode == "unsupported":
    assert state == "error" and "SANA_ERR_UNSUPPORTED" in dom and "not implemented yet" in dom, state
    assert (frame == [238, 238, 238]).all(), "nothing should be drawn without an image"
else:
    assert state == "done", f"page state {state}"
    assert frame.std() > 5 and colors > 50, "the image region is blank or uniform"
PYEOF
if [ "$MODE" = unsupported ]; then
    echo "service: expected-unsupported (sana_generate answers SANA_ERR_UNSUPPORTED; the page shows it)"
else
    echo "service: ok (6 concurrent requests on 2 contexts, page screenshot shows the image)"
fi
