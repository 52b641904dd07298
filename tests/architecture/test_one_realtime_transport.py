"""Every app publishes realtime events through the ``realtime`` package: no app module reaches
for the channel layer or Redis pub/sub itself (consumers use their own ``self.channel_layer``
only to join and leave groups)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "agents", "rollout", "conversations", "orchestration", "escalations", "analytics",
        "health", "demo", "durable", "config"]  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _calls_group_send(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.Attribute) and node.attr == "group_send" for node in ast.walk(tree))


def test_only_the_realtime_package_publishes():
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT)
            if "channels.layers" in _imports(path):
                offenders.append(f"{relative} imports channels.layers")
            if _calls_group_send(path):
                offenders.append(f"{relative} calls group_send")
    assert not offenders, "publish through realtime.publish instead:\n" + "\n".join(offenders)
