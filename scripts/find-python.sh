#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter (PuLP 4.x needs it), or fail with a clear message.
# Tries $PYTHON, then python3.13/python3.12/python3 on PATH, then pyenv installs.
set -u
check() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}
for cand in ${PYTHON:-} python3.13 python3.12 python3 \
            "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -n "$cand" ] || continue
    path=$(command -v "$cand" 2>/dev/null) || continue
    if check "$path"; then
        # pyenv shims need the real interpreter path so the venv does not depend on the shim
        "$path" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done
echo "error: siting needs Python >= 3.12 (PuLP 4.x); none found. Install python3.12 or set PYTHON=/path/to/python3.12" >&2
exit 1
