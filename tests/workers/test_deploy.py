"""deploy/: the files parse, agree with the CLI and DESIGN's names, and the Procfile runs."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.main import get_command

from service.cli import app

pytestmark = pytest.mark.slow  # the Procfile's processes started for real

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DESIGN = ROOT.parent / "shared" / "DESIGN.md"


def _design_names() -> set[str]:
    text = DESIGN.read_text()
    section = text[text.index("## Configuration") : text.index("## Command line")]
    return set(re.findall(r"`(KITH_[A-Z_]+)`", section))


def _kith_commands():
    """Every `kith ...` command line in compose, the manifests and the Procfile."""
    found = []
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for svc in compose["services"].values():
        if isinstance(svc.get("command"), list) and svc["command"][0] == "kith":
            found.append(svc["command"][1:])
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc.get("spec") or {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c.get("command", [""])[0] == "kith":
                    found.append(c["command"][1:])
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if ":" in line:
            words = shlex.split(line.split(":", 1)[1].replace("${PORT:-8000}", "8000"))
            if words[0] == "kith":
                found.append(words[1:])
    return found


def test_every_deploy_command_is_a_real_kith_command():
    root = get_command(app)
    commands = _kith_commands()
    assert len(commands) >= 10
    for argv in commands:
        ctx = root.make_context("kith", list(argv), resilient_parsing=False)
        name, cmd, rest = root.resolve_command(ctx, list(argv))
        sub = cmd.make_context(name, rest)  # raises on an unknown option
        assert sub.command.name == name


def test_environment_names_match_design():
    design = _design_names()
    assert "KITH_DATABASE_URL" in design and "KITH_SECRET_KEY" in design
    used = set()
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile"]:
        used |= set(re.findall(r"\b(KITH_[A-Z_]+)\b", path.read_text()))
    used.discard("KITH_IMAGE")  # compose's own variable: which image to run, not a Kith setting
    assert used and used <= design, used - design


def test_compose_and_manifests_have_what_a_deployment_needs():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"postgres", "redis", "migrate", "api", "worker", "scheduler"} <= set(compose["services"])
    assert compose["volumes"].keys() >= {"pgdata"}
    docs = [d for p in (DEPLOY / "k8s").glob("*.yaml") for d in yaml.safe_load_all(p.read_text())]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert deployments["kith-scheduler"]["spec"]["replicas"] == 1
    assert any(d["kind"] == "Job" for d in docs)
    api = deployments["kith-api"]["spec"]["template"]["spec"]["containers"][0]
    probes = {api["livenessProbe"]["httpGet"]["path"], api["readinessProbe"]["httpGet"]["path"]}
    from service.api.app import create_app
    from service.config import Settings

    schema = create_app(Settings(database_url="postgresql://unused/x")).openapi()
    paths = set(schema["paths"])
    assert probes <= paths
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM") >= 2
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M) and "HEALTHCHECK" in dockerfile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_procfile_processes_start_and_serve(settings, tmp_path):
    # Given the real PostgreSQL and Redis, when honcho starts the Procfile's processes
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(
        KITH_DATABASE_URL=settings.database_url,
        KITH_REDIS_URL=settings.redis_url,
        KITH_HOME=str(tmp_path / "home"),
        KITH_SECRET_KEY="procfile-test",
        PORT=str(port),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    subprocess.run([sys.executable, "-m", "service.cli", "migrate"], env=env, check=True, timeout=120)
    proc = subprocess.Popen(
        [sys.executable, "-m", "honcho", "-f", str(DEPLOY / "Procfile"), "start", "web", "worker", "scheduler"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        # Then the API answers its health route, and the worker and scheduler stay up
        deadline, ok = time.monotonic() + 60, False
        while time.monotonic() < deadline and not ok:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.5)
        assert ok, "API did not answer /healthz"
        time.sleep(3)
        assert proc.poll() is None, "a Procfile process exited"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    for name in ("web.1", "worker.1", "scheduler.1"):
        assert f"{name}" in output
    assert "Traceback" not in output, output[-3000:]
