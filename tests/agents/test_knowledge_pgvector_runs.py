"""make test exercises the pgvector path for real: the machine's PostgreSQL has no pgvector, so
this starts a private PostgreSQL 16 with pgvector 0.6.2 (the pgserver wheel) in a temporary
directory and runs the knowledge tests against it in a child pytest."""

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pgvector_database_url(tmp_path_factory):
    pgserver = pytest.importorskip("pgserver", reason="pgserver is in requirements-dev.txt")
    directory = tmp_path_factory.mktemp("pgvector")
    server = pgserver.get_server(str(directory), cleanup_mode="stop")
    try:
        yield f"postgres://postgres@{urllib.parse.quote(str(directory), safe='')}/postgres"
    finally:
        server.cleanup()


# The child migrates a fresh database and embeds every test's documents: minutes on a busy machine.
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    "tests", ["tests/agents/test_knowledge_on_pgvector.py", "tests/agents/test_knowledge_ingestion.py"]
)
def test_the_knowledge_tests_pass_on_postgresql_with_pgvector(pgvector_database_url, tests):
    env = {**os.environ, "DATABASE_URL": pgvector_database_url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            tests,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary + result.stderr[-2000:]
    # Run for real, not skipped for want of the extension.
    assert "skipped" not in summary.splitlines()[-1], summary
