"""Runtime image recipes as data, and their content digests and tags.

A recipe lists everything that determines an image's content: the base
root filesystem, the packages, every build step and the image config. Its
canonical JSON hashes to the recipe digest; the image tag carries the first
12 hex digits, so any change to a recipe yields a new tag and a rebuild.
The Debian mirror is deliberately not part of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

BUILDER_VERSION = 1
"""Bump when the builder changes image content in a way recipes don't show."""

IMAGE_REPOSITORY_PREFIX = "faas-runtime"
LABEL_LANGUAGE = "org.faas.language"
LABEL_RECIPE_DIGEST = "org.faas.recipe-digest"
SANDBOX_UID = 1000
WORKDIR = "/workspace"
GO_CACHE_DIR = "/opt/go-cache"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/go/bin"


@dataclass(frozen=True)
class BaseRecipe:
    """How the shared Debian root filesystem is bootstrapped."""

    suite: str = "trixie"
    variant: str = "minbase"
    canonical_mirror: str = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class LanguageRecipe:
    """One runtime image: packages, extra build steps and extra env."""

    language: str
    packages: tuple[str, ...]
    steps: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = field(default=())


BASE = BaseRecipe()

# Shell lines run with /bin/sh inside the chroot, in this order, around
# the language's own steps. They are part of every recipe digest.
GO_WARMUP_PROGRAM = """package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

var _ = []any{bufio.NewReader, bytes.NewBuffer, json.Marshal, errors.New, io.ReadAll, math.Sqrt, rand.Intn,
	os.Exit, regexp.MustCompile, sort.Ints, strconv.Itoa, strings.ToUpper, time.Now, utf8.RuneLen,
	new(sync.WaitGroup)}

func main() { fmt.Println("hello") }
"""

# Shell lines run with /bin/sh -e inside the chroot, in this order, around
# the language's own steps. They are part of every recipe digest.
PREPARE_STEPS: tuple[str, ...] = (
    # Never install docs, man pages or translations; keep copyright files.
    (
        "printf '%s\\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright'"
        " 'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*'"
        " 'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*'"
        " > /etc/dpkg/dpkg.cfg.d/01-faas-nodoc"
    ),
    (
        "printf '%s\\n' 'APT::Install-Recommends \"false\";' 'APT::Install-Suggests \"false\";'"
        " > /etc/apt/apt.conf.d/01-faas-norecommends"
    ),
    "apt-get update",
)
USER_STEPS: tuple[str, ...] = (
    f"groupadd --gid {SANDBOX_UID} sandbox",
    (f"useradd --uid {SANDBOX_UID} --gid {SANDBOX_UID} --home-dir {WORKDIR} --no-create-home --shell /bin/sh sandbox"),
    f"mkdir -p {WORKDIR} /opt/faas-agent",
    f"chown {SANDBOX_UID}:{SANDBOX_UID} {WORKDIR}",
    f"chmod 0755 {WORKDIR} /opt/faas-agent",
    "test -x /usr/bin/python3",
)
CLEANUP_STEPS: tuple[str, ...] = (
    "apt-get clean",
    (
        "rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old"
        " /var/lib/dpkg/*-old /var/log/* /tmp/* /var/tmp/* /root/.cache"
    ),
    "find /usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete",
    "find /usr/share/doc -mindepth 1 -type d -empty -delete",
    "rm -rf /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian",
)

LANGUAGES: tuple[LanguageRecipe, ...] = (
    LanguageRecipe(
        language="python",
        # The development environments of python instances (service/devenvs.py): Jupyter
        # Server with the classic notebook UI (nbclassic; Debian's notebook 6 server cannot
        # talk to trixie's jupyter_client 8 kernels) and ipykernel, and a VNC desktop (Xvnc,
        # a window manager, a terminal) with the noVNC web client served by websockify. The
        # terminal is st: xterm exits at once in a sandbox without capabilities, even as root.
        packages=(
            "python3",
            "jupyter-server",
            "python3-nbclassic",
            "python3-ipykernel",
            "tigervnc-standalone-server",
            "tigervnc-tools",
            "openbox",
            "stterm",
            "fonts-dejavu-core",
            "websockify",
        ),
        steps=(
            "python3 --version",
            "jupyter-server --version && python3 -c 'import ipykernel, nbclassic'",
            "test -x /usr/bin/Xtigervnc && test -x /usr/bin/vncpasswd",
            # noVNC's web client is static files; its package depends on Node.js (~100 MB with
            # ICU) for tools nobody runs here, so only its files are unpacked.
            "cd /tmp && apt-get download novnc && dpkg-deb -x novnc_*.deb / && rm novnc_*.deb",
            "test -f /usr/share/novnc/vnc.html && command -v websockify",
        ),
        env=(("PYTHONDONTWRITEBYTECODE", "1"), ("PYTHONUNBUFFERED", "1")),
    ),
    LanguageRecipe(
        language="javascript",
        packages=("nodejs", "python3"),
        steps=("node --version",),
    ),
    LanguageRecipe(
        language="go",
        packages=("golang-go", "python3"),
        steps=(
            "go version",
            # Prebuild the commonly used standard packages (not all of std: the engine copies
            # this cache into each sandbox's tmpfs, which counts against its memory limit).
            f"mkdir -p {GO_CACHE_DIR} /tmp/hello",
            f"cat > /tmp/hello/main.go <<'EOF'\n{GO_WARMUP_PROGRAM}EOF",
            (
                f"cd /tmp/hello && export GOCACHE={GO_CACHE_DIR} CGO_ENABLED=0 GOFLAGS=-buildvcs=false"
                " && go mod init hello && go build -o hello . && ./hello"
            ),
            f"rm -rf /tmp/hello /root/go && chmod -R a+rX {GO_CACHE_DIR}",
        ),
        env=(("CGO_ENABLED", "0"), ("GOTOOLCHAIN", "local"), ("GOFLAGS", "-buildvcs=false")),
        labels=(("org.faas.go-cache", GO_CACHE_DIR),),
    ),
    LanguageRecipe(
        language="rust",
        packages=("rustc", "gcc", "libc6-dev", "python3"),
        steps=(
            "printf 'fn main() { println!(\"hello\"); }\\n' > /tmp/hello.rs",
            "rustc -O -o /tmp/hello /tmp/hello.rs && /tmp/hello && rm -f /tmp/hello /tmp/hello.rs",
        ),
    ),
)

_BY_NAME = {recipe.language: recipe for recipe in LANGUAGES}
LANGUAGE_NAMES: tuple[str, ...] = tuple(_BY_NAME)


def recipe_for(language: str) -> LanguageRecipe:
    """Return the recipe of `language`; raise KeyError naming the known ones."""
    try:
        return _BY_NAME[language]
    except KeyError:
        raise KeyError(f"unknown language {language!r}; known: {', '.join(LANGUAGE_NAMES)}") from None


def build_steps(recipe: LanguageRecipe) -> tuple[str, ...]:
    """Every shell line run in the chroot to build `recipe`, in order."""
    install = "apt-get install -y --no-install-recommends " + " ".join(recipe.packages)
    return (*PREPARE_STEPS, install, *recipe.steps, *USER_STEPS, *CLEANUP_STEPS)


def image_env(recipe: LanguageRecipe) -> tuple[tuple[str, str], ...]:
    """Environment variables set in the image config."""
    return (("LANG", "C.UTF-8"), ("PATH", DEFAULT_PATH), *recipe.env)


def image_changes(recipe: LanguageRecipe, digest: str) -> list[str]:
    """Dockerfile instructions applied on import (`docker import --change`)."""
    changes = [f"ENV {key}={value}" for key, value in image_env(recipe)]
    changes.append(f"WORKDIR {WORKDIR}")
    labels = (*recipe.labels, (LABEL_LANGUAGE, recipe.language), (LABEL_RECIPE_DIGEST, digest))
    changes.extend(f"LABEL {key}={json.dumps(value)}" for key, value in labels)
    return changes


def canonical_json(document: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def base_document(base: BaseRecipe = BASE) -> dict[str, Any]:
    """What determines the base root filesystem (mirror excluded)."""
    return {"builder_version": BUILDER_VERSION, "suite": base.suite, "variant": base.variant}


def base_digest(base: BaseRecipe = BASE) -> str:
    """sha256 hex digest of the base root filesystem recipe."""
    return hashlib.sha256(canonical_json(base_document(base)).encode()).hexdigest()


def recipe_document(recipe: LanguageRecipe, base: BaseRecipe = BASE) -> dict[str, Any]:
    """Everything that determines a runtime image's content."""
    return {
        "base": base_document(base),
        "language": recipe.language,
        "packages": list(recipe.packages),
        "steps": list(build_steps(recipe)),
        "config": {
            "env": [list(pair) for pair in image_env(recipe)],
            "workdir": WORKDIR,
            "labels": [list(pair) for pair in recipe.labels],
        },
    }


def recipe_digest(recipe: LanguageRecipe, base: BaseRecipe = BASE) -> str:
    """sha256 hex digest of the recipe's canonical JSON."""
    return hashlib.sha256(canonical_json(recipe_document(recipe, base)).encode()).hexdigest()


def image_reference(recipe: LanguageRecipe, base: BaseRecipe = BASE) -> str:
    """`faas-runtime/<language>:<first 12 hex of the recipe digest>`."""
    return f"{IMAGE_REPOSITORY_PREFIX}/{recipe.language}:{recipe_digest(recipe, base)[:12]}"


def runtime_image_reference(language: str) -> str:
    """Tag of the locally built runtime image for `language` (no Docker call)."""
    return image_reference(recipe_for(language))
