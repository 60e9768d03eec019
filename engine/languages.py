"""How each language is built and run inside a sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

AGENT_MOUNT = "/opt/faas-agent"
BUILD_OUTPUT = "/tmp/faas-build/app"
BASE_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/lib/go/bin",
    "HOME": "/workspace",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
}


@dataclass(frozen=True)
class LanguageRuntime:
    """Build and run recipe for one language."""

    name: str
    main_file: str
    run: tuple[str, ...]
    build: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    default_files: Mapping[str, bytes] = field(default_factory=dict)
    seeds: tuple[str, ...] = ()
    """``source:target`` directories the agent copies into tmpfs before it is ready."""
    prestart: tuple[str, ...] | None = None
    """An interpreter the agent starts while the sandbox waits in the pool; it runs the main file on request."""
    startup_env_prefixes: tuple[str, ...] = ()
    """User variables with these prefixes shape interpreter start-up, so they rule out the pre-started one."""

    @property
    def compiled(self) -> bool:
        return self.build is not None


RUNTIMES: Mapping[str, LanguageRuntime] = {
    "python": LanguageRuntime(
        name="python",
        main_file="main.py",
        run=("python3", "main.py"),
        env={"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
        prestart=("python3", f"{AGENT_MOUNT}/prestart_python.py"),
        startup_env_prefixes=("PYTHON",),
    ),
    "javascript": LanguageRuntime(
        name="javascript",
        main_file="main.js",
        run=("node", "main.js"),
        prestart=("node", f"{AGENT_MOUNT}/prestart_node.js"),
        startup_env_prefixes=("NODE_", "UV_"),
    ),
    "go": LanguageRuntime(
        name="go",
        main_file="main.go",
        build=("go", "build", "-o", BUILD_OUTPUT, "."),
        run=(BUILD_OUTPUT,),
        env={
            "GOCACHE": "/tmp/go-cache",
            "GOPATH": "/tmp/go",
            "GOTOOLCHAIN": "local",
            "GOPROXY": "off",
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "CGO_ENABLED": "0",
        },
        default_files={"go.mod": b"module sandbox\n\ngo 1.24\n"},
        seeds=("/opt/go-cache:/tmp/go-cache",),
    ),
    "rust": LanguageRuntime(
        name="rust",
        main_file="main.rs",
        build=("rustc", "--edition", "2021", "-C", "opt-level=2", "-o", BUILD_OUTPUT, "main.rs"),
        run=(BUILD_OUTPUT,),
    ),
}

LANGUAGES: tuple[str, ...] = tuple(RUNTIMES)


def program_files(runtime: LanguageRuntime, code: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """All files written into the workspace: defaults, the user's files, then the main file."""
    merged = dict(runtime.default_files)
    merged.update(files)
    merged[runtime.main_file] = code.encode()
    return merged


def can_use_prestarted(runtime: LanguageRuntime, user_env: Mapping[str, str]) -> bool:
    return runtime.prestart is not None and not any(name.startswith(runtime.startup_env_prefixes) for name in user_env)


def program_env(runtime: LanguageRuntime, user_env: Mapping[str, str]) -> dict[str, str]:
    """The program's environment: a clean base, the language's settings, then the user's."""
    env = dict(BASE_ENV)
    env.update(runtime.env)
    env.update(user_env)
    return env
