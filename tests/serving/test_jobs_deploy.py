"""The container files follow the rules a Dockerfile linter (hadolint) would check and
agree with the server: a non-root user, a healthcheck on /health, a pinned base, no
``ADD`` of URLs; compose runs a server, a worker and PostgreSQL on one queue; the
Kubernetes example probes /ready and /health and scales on a metric /metrics exposes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from aural.serving import ServeConfig

REPO = Path(__file__).resolve().parents[2]


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile((REPO / "Dockerfile").read_text())


def _args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for keyword, rest in instructions:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            out[name.strip()] = value.strip()
    return out


def _pinned(image: str) -> bool:
    """A digest, or a tag naming an exact version (not latest, not a bare major)."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag or tag in ("", "latest"):
        return False
    return re.match(r"^\d+\.\d+(\.\d+)?", tag) is not None


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("python:3.11.11-slim-bookworm", True),
        ("python:3.11-slim", True),
        ("python@sha256:" + "a" * 64, True),
        ("python", False),
        ("python:latest", False),
        ("python:slim", False),
        ("localhost:5000/python", False),
    ],
)
def test_pinned_rule(image: str, pinned: bool):
    assert _pinned(image) is pinned


def test_parser_joins_continuations_and_drops_comments():
    parsed = parse_dockerfile(
        "# c\nFROM a:1.0\nRUN one \\\n    # inside\n    && two\nUSER 1:1\n"
    )
    assert parsed == [("FROM", "a:1.0"), ("RUN", "one && two"), ("USER", "1:1")]


def test_dockerfile_lint_rules(dockerfile: list[tuple[str, str]]):
    args = _args(dockerfile)
    stages = [rest for keyword, rest in dockerfile if keyword == "FROM"]
    assert stages, "no FROM"
    for stage in stages:
        image = stage.split()[0]
        if image.startswith("${"):
            image = args[image.strip("${}")]
        assert _pinned(image), f"base image {image!r} is not pinned"
    # the final stage runs as a fixed non-root user
    final = dockerfile[max(i for i, (k, _) in enumerate(dockerfile) if k == "FROM") :]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage has no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and user.isdigit(), users[-1]
    # a healthcheck on /health, in exec form
    checks = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and "/health" in checks[0]
    assert re.search(r"CMD \[", checks[0]), "HEALTHCHECK CMD should be exec form"
    for keyword, rest in dockerfile:
        # ADD of a URL downloads unverified content: RUN with a checksum, or COPY
        if keyword == "ADD":
            assert not re.search(r"\b(https?|ftp)://", rest), rest
        assert keyword != "MAINTAINER"  # deprecated
        if keyword == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest
            assert "rm -rf /var/lib/apt/lists" in rest
        if keyword == "RUN" and "pip install" in rest:
            assert (
                "PIP_NO_CACHE_DIR"
                in dict(
                    item.split("=", 1)
                    for k, r in dockerfile
                    if k == "ENV"
                    for item in shlex.split(r)
                    if "=" in item
                )
                or "--no-cache-dir" in rest
            )
        assert not (keyword == "RUN" and re.search(r"\bsudo\b", rest))
        # a high uid without --no-log-init makes a huge sparse lastlog (hadolint DL3046)
        if keyword == "RUN" and "useradd" in rest:
            assert "--no-log-init" in rest or re.search(r"useradd[^&;]* -l\b", rest)
    entry = [rest for keyword, rest in final if keyword == "ENTRYPOINT"]
    assert entry and entry[-1].startswith("["), "ENTRYPOINT should be exec form"
    # the default model is resolved while building: the image works offline
    assert any("aural models path tiny.en" in r for k, r in dockerfile if k == "RUN")
    exposed = [rest for keyword, rest in final if keyword == "EXPOSE"]
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert exposed == ["8000"] and "AURAL_SERVE_PORT=8000" in env
    assert "AURAL_SERVE_HOST=0.0.0.0" in env


def test_dockerignore_keeps_the_context_small():
    ignored = (REPO / ".dockerignore").read_text().split()
    for name in (".git", ".venv", "tests"):
        assert name in ignored


def _env_names(service: dict[str, Any]) -> set[str]:
    env = service.get("environment", {})
    return set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}


def test_compose_runs_server_worker_and_postgresql_on_one_queue():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert {"api", "worker", "postgres"} <= set(services)
    assert _pinned(services["postgres"]["image"])
    assert "healthcheck" in services["postgres"]
    fields = set(ServeConfig.model_fields)
    for name in ("api", "worker"):
        service = services[name]
        env = service["environment"]
        assert env["AURAL_SERVE_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["AURAL_SERVE_DATABASE_URL"]
        # every setting is a real ServeConfig field (a typo would fail at start)
        for key in _env_names(service):
            assert key.removeprefix("AURAL_SERVE_").lower() in fields, key
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert any(v.startswith("jobs:") for v in service["volumes"])  # shared spool
    assert "ports" in services["api"] and "ports" not in services["worker"]
    assert services["worker"]["environment"]["AURAL_SERVE_JOB_WORKERS"] != "0"


def _k8s() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


def test_kubernetes_example_probes_and_autoscaling(client: httpx.Client):
    docs = _k8s()
    kustomize = docs["Kustomization"]
    listed = set(kustomize["resources"])
    on_disk = {p.name for p in (REPO / "deploy" / "k8s").glob("*.yaml")}
    assert listed == on_disk - {"kustomization.yaml"}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    fields = set(ServeConfig.model_fields)
    for item in container["env"]:
        if item["name"].startswith("AURAL_SERVE_"):
            assert item["name"].removeprefix("AURAL_SERVE_").lower() in fields
    for key in docs["Secret"]["stringData"]:
        assert key.removeprefix("AURAL_SERVE_").lower() in fields
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AURAL_SERVE_JOBS_DIR"] in mounts
    service = docs["Service"]
    assert (
        service["spec"]["selector"]
        == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    )
    hpa = docs["HorizontalPodAutoscaler"]
    assert (
        hpa["spec"]["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    )
    names = [
        m["external"]["metric"]["name"]
        for m in hpa["spec"]["metrics"]
        if m["type"] == "External"
    ]
    assert names == ["aural_jobs_queued"]
    # the metric the autoscaler reads is one a live server exposes
    metrics = client.get("/metrics").text
    assert re.search(r"^aural_jobs_queued \d", metrics, re.MULTILINE)
    assert "aural_jobs_queued" in docs["ConfigMap"]["data"]["config.yaml"]
