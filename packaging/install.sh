#!/usr/bin/env bash
# RL Studio's installer, for anyone who has Python 3.10-3.12 and nothing else.
#
#   bash install.sh --wheel rlstudio-X.whl   install this wheel file (make one with: python -m build)
#   bash install.sh --from-index -- --index-url URL   install from a package index that has RL Studio
#   bash install.sh --uninstall              remove everything this installer made (your experiments stay)
#
# It makes one isolated environment in your data folder (${XDG_DATA_HOME:-~/.local/share}/rlstudio/env; with
# `uv` when it is installed, else Python's own venv), installs RL Studio into it, links the command to
# ~/.local/bin/rlstudio, adds RL Studio to the application menu, and runs `rlstudio doctor`. Running it again
# upgrades in place. It refuses, and changes nothing, on an unsupported Python, a folder it cannot write, or a
# download that fails. Options: --python PATH, --version X (with --from-index), --no-menu; anything after `--`
# goes to the package installer (pip or uv), e.g. -- --index-url URL.
#
# The name "rlstudio" on the public Python Package Index (PyPI) belongs to another project: RL Studio is not
# published there, so nothing is installed from an index unless --from-index is given, and whatever is
# installed is checked to be RL Studio before anything else is done.
# `sh install.sh` runs this in a POSIX shell: continue in bash, which every Linux and macOS has
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

say() { printf '%s\n' "$*"; }
refuse() { printf 'RL Studio was not installed: %s\n' "$*" >&2; exit 2; }

WHEEL="" VERSION="" FROM_INDEX=0 PYTHON_ARG="${PYTHON:-}" UNINSTALL=0 MENU=1
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) [ $# -ge 2 ] || refuse "--wheel needs a file"; WHEEL="$2"; shift 2 ;;
        --version) [ $# -ge 2 ] || refuse "--version needs a version, e.g. --version 0.1.0"; VERSION="$2"; shift 2 ;;
        --python) [ $# -ge 2 ] || refuse "--python needs a path"; PYTHON_ARG="$2"; shift 2 ;;
        --from-index) FROM_INDEX=1; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --no-menu) MENU=0; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *.whl) WHEEL="$1"; shift ;;
        *) refuse "unknown option '$1' (see --help)" ;;
    esac
done

[ -n "${HOME:-}" ] || refuse "HOME is not set"
DATA_HOME="${XDG_DATA_HOME:-}"
case "$DATA_HOME" in /*) ;; *) DATA_HOME="$HOME/.local/share" ;; esac   # the XDG rule: relative means unset
APP_DIR="$DATA_HOME/rlstudio"
ENV_DIR="$APP_DIR/env"
MANIFEST="$APP_DIR/installed-by-install.sh.txt"
BIN_DIR="$HOME/.local/bin"
LINK="$BIN_DIR/rlstudio"
RLSTUDIO="$ENV_DIR/bin/rlstudio"

# ---- uninstall ---------------------------------------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
    if [ ! -f "$MANIFEST" ]; then
        say "RL Studio was not installed here by this installer ($MANIFEST is missing); nothing was removed."
        exit 0
    fi
    if grep -qx "menu" "$MANIFEST" && [ -x "$RLSTUDIO" ]; then
        "$RLSTUDIO" desktop uninstall || say "(the menu entry could not be removed; see above)"
    fi
    if grep -qx "link $LINK" "$MANIFEST" && [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$RLSTUDIO" ]; then
        rm -f "$LINK"
    fi
    rm -rf "$ENV_DIR"
    rm -f "$MANIFEST"
    rmdir "$APP_DIR" 2>/dev/null || true   # only when empty: anything else in it is not ours
    say "RL Studio is uninstalled. Your experiments (by default in ~/rlstudio-runs) were kept."
    exit 0
fi

# ---- checks: nothing is changed before all of them pass -----------------------------------------------------
supported() {  # prints the version of interpreter $1 and succeeds when RL Studio supports it
    local v
    v="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    printf '%s' "$v"
    case "$v" in 3.10|3.11|3.12) return 0 ;; *) return 1 ;; esac
}

PY=""
if [ -n "$PYTHON_ARG" ]; then
    command -v "$PYTHON_ARG" >/dev/null 2>&1 || refuse "no Python at '$PYTHON_ARG'"
    v="$(supported "$PYTHON_ARG")" || refuse "$PYTHON_ARG is Python ${v:-of unknown version}; RL Studio needs Python \
3.10, 3.11 or 3.12 (Ray and torch do not support others yet). Install one (Debian/Ubuntu: sudo apt-get install \
python3.11 python3.11-venv) and pass it with --python."
    PY="$(command -v "$PYTHON_ARG")"
else
    found=""
    for cand in python3 python3.12 python3.11 python3.10 python; do
        command -v "$cand" >/dev/null 2>&1 || continue
        if v="$(supported "$cand")"; then PY="$(command -v "$cand")"; break; fi
        found="$found $cand=${v:-?}"
    done
    [ -n "$PY" ] || refuse "RL Studio needs Python 3.10, 3.11 or 3.12 (Ray and torch do not support others yet); \
found:${found:- no Python}. Install one (Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv) and run \
this again, or pass it with --python PATH."
fi

USE_UV=0
if [ "${RLSTUDIO_INSTALLER:-}" != pip ] && command -v uv >/dev/null 2>&1; then USE_UV=1; fi
if [ "$USE_UV" = 0 ] && ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    refuse "$PY cannot make virtual environments (its venv module is missing). Debian/Ubuntu: \
sudo apt-get install python3-venv (or python3.X-venv for your version), then run this again."
fi

if [ -n "$WHEEL" ]; then
    [ -f "$WHEEL" ] || refuse "there is no wheel file '$WHEEL'"
    WHEEL="$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")"
    SPEC="$WHEEL"
elif [ "$FROM_INDEX" = 1 ]; then
    SPEC="rlstudio${VERSION:+==$VERSION}"
else
    refuse "say what to install: --wheel FILE.whl (make one in a copy of RL Studio with: python -m build), or \
--from-index -- --index-url URL for a package index that has RL Studio (the public index's 'rlstudio' is another \
project)."
fi

nearest_dir() {  # the nearest folder of $1 (itself or an ancestor) that exists
    local p="$1"
    while [ ! -e "$p" ]; do p="$(dirname "$p")"; done
    printf '%s' "$p"
}
base="$(nearest_dir "$APP_DIR")"
{ [ -d "$base" ] && [ -w "$base" ]; } || refuse "cannot write to $base (needed for $APP_DIR). Set XDG_DATA_HOME \
to a folder you can write, or fix the permissions."

UPGRADE=0
if [ -e "$ENV_DIR" ]; then
    [ -f "$MANIFEST" ] || refuse "$ENV_DIR exists but was not made by this installer; move it away and run this again"
    [ -x "$ENV_DIR/bin/python" ] || refuse "$ENV_DIR is damaged (no bin/python); run '$0 --uninstall' first"
    UPGRADE=1
fi

# ---- install -----------------------------------------------------------------------------------------------
pip_install() {
    if [ "$USE_UV" = 1 ]; then
        uv pip install --python "$ENV_DIR/bin/python" "$@" ${EXTRA[@]+"${EXTRA[@]}"}
    else
        "$ENV_DIR/bin/python" -m pip install --disable-pip-version-check "$@" ${EXTRA[@]+"${EXTRA[@]}"}
    fi
}

if [ "$UPGRADE" = 1 ]; then
    say "Upgrading RL Studio in $ENV_DIR ..."
    # pip resolves and downloads everything before it changes anything: a failed download leaves the
    # installed version as it was
    pip_install --upgrade "$SPEC" || refuse "the download or installation failed (see above); the installed \
RL Studio is unchanged."
    if [ -n "$WHEEL" ]; then  # the same version number built again: take this file's contents
        pip_install --force-reinstall --no-deps "$SPEC" >/dev/null || refuse "could not reinstall from $WHEEL"
    fi
else
    say "Installing RL Studio into $ENV_DIR (with $([ "$USE_UV" = 1 ] && echo uv || echo "$PY -m venv"); \
Ray, torch and Qt are large: this takes a few minutes) ..."
    # on failure, remove every folder this run made: the first missing one on the way to $ENV_DIR and below
    new_top="$ENV_DIR"
    while [ ! -e "$(dirname "$new_top")" ]; do new_top="$(dirname "$new_top")"; done
    cleanup_new() { rm -rf "$new_top"; rm -f "$MANIFEST"; }
    # Ctrl-C (or a closed terminal) half-way through leaves nothing behind either
    trap 'cleanup_new; printf "\nInterrupted: RL Studio was not installed; nothing was changed.\n" >&2; exit 130' \
        INT TERM HUP
    if [ "$USE_UV" = 1 ]; then
        # --seed: pip inside, so the doctor's "python -m pip install ..." advice works in this environment too
        uv venv --quiet --seed --python "$PY" "$ENV_DIR" || { cleanup_new; refuse "uv could not create $ENV_DIR"; }
    else
        "$PY" -m venv "$ENV_DIR" || { cleanup_new; refuse "$PY could not create $ENV_DIR"; }
    fi
    pip_install "$SPEC" || { cleanup_new; refuse "the download or installation failed (see above); nothing \
was changed."; }
    printf 'env %s\n' "$ENV_DIR" > "$MANIFEST"
fi

is_rl_studio() {
    "$ENV_DIR/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(not m.metadata("rlstudio")["Summary"].startswith("A desktop workbench for reinforcement learning"))' \
        >/dev/null 2>&1
}
if ! is_rl_studio; then
    if [ "$UPGRADE" = 1 ]; then
        refuse "what was installed is not RL Studio (another project has the name 'rlstudio' on that index); \
remove it with '$0 --uninstall' and install from a wheel"
    fi
    cleanup_new
    refuse "the package 'rlstudio' on that index is not RL Studio (another project has the name); nothing was \
changed. Install from a wheel: --wheel FILE.whl"
fi
trap - INT TERM HUP
"$RLSTUDIO" --version >/dev/null || refuse "the installed rlstudio command does not start (see above)"
say "Installed $("$RLSTUDIO" --version)."

# the command on PATH, unless something else already answers to ~/.local/bin/rlstudio
if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$RLSTUDIO" ]; then
    :
elif [ -e "$LINK" ] || [ -L "$LINK" ]; then
    say "Note: $LINK exists and is not ours, so it was left alone; start RL Studio with $RLSTUDIO"
elif mkdir -p "$BIN_DIR" 2>/dev/null && ln -s "$RLSTUDIO" "$LINK" 2>/dev/null; then
    grep -qx "link $LINK" "$MANIFEST" || printf 'link %s\n' "$LINK" >> "$MANIFEST"
fi

if [ "$MENU" = 1 ]; then
    case "$(uname -s)" in
        Linux)
            if "$RLSTUDIO" desktop install; then
                grep -qx "menu" "$MANIFEST" || printf 'menu\n' >> "$MANIFEST"
            fi ;;
        *) say "(an application-menu entry is not supported on $(uname -s) yet)" ;;
    esac
fi

say ""
say "Checking this machine (rlstudio doctor):"
doctor_ok=1
"$RLSTUDIO" doctor || doctor_ok=0

say ""
if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$RLSTUDIO" ]; then START="rlstudio"; else START="$RLSTUDIO"; fi
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) [ "$START" = rlstudio ] && START="$LINK" ;;
esac
if [ "$doctor_ok" = 1 ]; then
    say "RL Studio is ready. Start it from the application menu, or with: $START"
else
    say "RL Studio is installed, but the check above found problems: fix the lines marked FAIL, then start it"
    say "from the application menu or with: $START   (headless: $START run FILE.yaml)"
fi
say "Remove it with: bash $0 --uninstall"
