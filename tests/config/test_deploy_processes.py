"""The shipped process definitions (deploy/): web, worker and beat each restarted when they die,
web and worker scalable, beat exactly one."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            assert name not in entries, f"process type {name} twice"
            entries[name] = command.strip()
    return entries


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_the_procfile_runs_web_worker_and_one_beat_on_the_app():
    entries = _procfile()
    assert {"web", "worker", "beat"} <= set(entries)
    assert "config.asgi:application" in entries["web"]
    assert shlex.split(entries["worker"])[:4] == ["celery", "-A", "config", "worker"]
    assert shlex.split(entries["beat"])[:4] == ["celery", "-A", "config", "beat"]
    # Beat runs on its own, never inside a worker, so scaling workers never adds a beat.
    assert not any("--beat" in command or " -B" in command for command in entries.values())


def test_systemd_units_restart_each_process_and_only_web_and_worker_scale():
    units = {path.name for path in (DEPLOY / "systemd").glob("*.service")}
    assert units == {"agentops-web@.service", "agentops-worker@.service", "agentops-beat.service"}
    for name in units:
        unit = _unit(name)
        assert unit["Service"]["Restart"] == "always"
        assert int(unit["Unit"]["StartLimitBurst"]) > 1 and int(unit["Unit"]["StartLimitIntervalSec"]) > 0
        program = Path(shlex.split(unit["Service"]["ExecStart"])[0]).name
        assert (VENV_BIN / program).exists(), f"{name} runs {program}, which the app does not install"
    assert "%i" in _unit("agentops-web@.service")["Service"]["ExecStart"]  # one port per instance
    assert "--beat" not in _unit("agentops-worker@.service")["Service"]["ExecStart"]
    target = (DEPLOY / "systemd" / "agentops.target").read_text()
    assert "agentops-beat" not in "".join(line for line in target.splitlines() if not line.startswith("#"))
