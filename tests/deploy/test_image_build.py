"""deploy/Dockerfile's build followed without Docker, for every service.

The build stage's COPY instructions are replayed from the repository through the ignore file into a
temporary ``app/`` (the image's ``/app``), and its RUN instructions (``uv sync --frozen ...``) run there
offline from uv's cache. Then only what the runtime stage copies is kept: the virtualenv, the
service's ``alembic.ini`` and ``migrations/``, and ``deploy/``. From that tree, with no path into the
repository: the service package is imported from the virtualenv with all its data files, its app
factory builds, and the entrypoint's ``migrate`` mode migrates an empty database.

What this cannot catch: differences of the base image (Python 3.12 there, this interpreter here) and
anything BuildKit-specific; hadolint and test_manifests.py cover the Dockerfile's text.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.devstack.postgres import PostgresHandle, drop_database, ensure_database

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
NOT_DEPLOYED = {"naccs_standin"}
COMMAND_TIMEOUT_S = 240


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def dockerfile_stages() -> dict[str, Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            name = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            current = stages.setdefault(name, Stage(name))
        elif current is not None:
            current.instructions.append((keyword, rest.strip()))
    return stages


def env_prefix(package: str) -> str:
    settings = importlib.import_module(f"{package}.config").Settings
    return str(settings.model_config.get("env_prefix", ""))


def service_packages() -> list[str]:
    return sorted(
        p.parent.name
        for p in (REPO / "services").glob("*/pyproject.toml")
        if p.parent.name not in NOT_DEPLOYED
    )


def find_uv() -> str:
    uv = REPO / ".tools" / "bin" / "uv"
    found = str(uv) if uv.exists() else shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed (make install puts it in .tools/)")
    return found


def copy_into(app: Path, source: str, dest: str, in_build_context: Callable[[str], bool]) -> None:
    """COPY source dest, relative to WORKDIR /app, taking only what the build context holds."""
    target = (
        Path(dest.replace("/app/", "").replace("/app", ""))
        if dest.startswith("/app")
        else Path(dest)
    )
    origin = REPO / source
    assert origin.exists(), source
    files = [origin] if origin.is_file() else sorted(f for f in origin.rglob("*") if f.is_file())
    for file in files:
        relative = file.relative_to(REPO).as_posix()
        if not in_build_context(relative):
            continue
        if origin.is_file():
            into = app / target / file.name if dest.endswith("/") else app / target
        else:
            into = app / target / file.relative_to(origin)
        into.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, into)


def build(package: str, app: Path, in_build_context: Callable[[str], bool]) -> dict[str, str]:
    """Replay the build stage into ``app``; returns the environment its RUNs saw."""
    stage = dockerfile_stages()["build"]
    uv = find_uv()
    # uv's own settings (cache, index, ...) as make install used them, so the offline sync finds
    # the wheels it cached.
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("UV_", "XDG_"))},
        "PATH": f"{Path(uv).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "SERVICE": package,
        "UV_PYTHON": sys.executable,
        "UV_OFFLINE": "1",
    }
    for keyword, rest in stage.instructions:
        if keyword == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                env[key] = value
            env["UV_PROJECT_ENVIRONMENT"] = str(app / ".venv")
            env["UV_COMPILE_BYTECODE"] = "0"  # what it compiles is not what is tested here
            env["UV_LINK_MODE"] = "hardlink"  # faster than the image's copy; same files
        elif keyword == "COPY" and not rest.startswith("--from"):
            parts = [p for p in shlex.split(rest) if not p.startswith("--")]
            *sources, dest = (p.replace("${SERVICE}", package) for p in parts)
            for source in sources:
                copy_into(app, source, dest, in_build_context)
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", rest)
            result = subprocess.run(
                ["/bin/bash", "-o", "pipefail", "-c", command],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
            assert result.returncode == 0, f"RUN {command}\n{result.stdout}{result.stderr}"
    return env


def keep_runtime_only(package: str, app: Path) -> None:
    """What the runtime stage copies from the build stage stays; the sources go."""
    runtime = dockerfile_stages()["runtime"]
    kept = {
        Path(shlex.split(rest)[-1].replace("${SERVICE}", package)).relative_to("/app")
        for keyword, rest in runtime.instructions
        if keyword == "COPY" and rest.startswith("--from=build")
    }
    assert Path(".venv") in kept
    for path in sorted(app.rglob("*"), reverse=True):  # children before their folder
        relative = path.relative_to(app)
        if relative in kept or any(k in relative.parents for k in kept):
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink()


@pytest.fixture
def empty_database(postgres_server: PostgresHandle) -> Iterator[Callable[[str], str]]:
    made: list[str] = []

    def make(package: str) -> str:
        name = f"minato_test_image_{package}_{os.getpid()}"
        ensure_database(postgres_server.admin_url, name, recreate=True)
        made.append(name)
        return postgres_server.url_for(name)

    yield make
    for name in made:
        drop_database(postgres_server.admin_url, name)


@pytest.mark.parametrize("package", service_packages())
def test_image_build_installs_and_migrates_the_service(
    package: str,
    tmp_path: Path,
    in_build_context: Callable[[str], bool],
    empty_database: Callable[[str], str],
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    build(package, app, in_build_context)
    keep_runtime_only(package, app)
    runtime = dockerfile_stages()["runtime"]
    for keyword, rest in runtime.instructions:
        if keyword == "COPY" and not rest.startswith("--from"):
            *sources, dest = (p for p in shlex.split(rest) if not p.startswith("--"))
            for source in sources:
                copy_into(app, source, dest, in_build_context)
    assert sorted(p.name for p in app.iterdir()) == [".venv", "deploy", "services"]

    # The package as installed (not editable) holds every file of its source tree.
    (site_packages,) = (app / ".venv" / "lib").glob("python3*/site-packages")
    source = REPO / "services" / package / package
    wanted = {
        f.relative_to(source).as_posix()
        for f in source.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    }
    installed = {
        f.relative_to(site_packages / package).as_posix()
        for f in (site_packages / package).rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    }
    assert wanted <= installed, sorted(wanted - installed)[:10]

    env = {
        "PATH": f"{app / '.venv' / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "SERVICE": package,
        "HOME": str(tmp_path),
    }
    probe = (
        f"import {package}, {package}.app; "
        f"assert {package}.__file__.startswith({str(site_packages)!r}), {package}.__file__; "
        f"{package}.app.create_app()"
    )
    env[f"{env_prefix(package)}DATABASE_URL"] = empty_database(package)
    for argv in (["python", "-c", probe], ["migrate"]):
        result = subprocess.run(
            ["/bin/sh", str(app / "deploy" / "entrypoint.sh"), *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"{argv}\n{result.stdout}{result.stderr}"
