"""The deployment's files (deploy/, Dockerfile) checked as the town's IT person and a reviewer would.

The compose file against the Compose specification's JSON Schema, images pinned, PostgreSQL's data on a volume
and off the internet, Caddy routing the service's public paths and never ``/metrics``, ``deploy/.env.example``
accounting for every setting, the Dockerfile linted by hadolint, the systemd units parsed and verified.
No docker daemon is needed (tests/test_deploy_install.py installs and starts what the image would run)."""

from __future__ import annotations

import base64
import configparser
import hashlib
import importlib.resources
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from site_tools.settings import NAMES, Settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
BIN = Path(sys.executable).parent

#: Routes of the service that must never face the internet (the metrics helper's /metrics: Prometheus scrapes it
#: on the private network).
PRIVATE_ROUTES = {"/metrics"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


# -- compose.yaml ---------------------------------------------------------------------------------------------------
def test_compose_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(
        (importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(compose())] == []
    broken = {**compose(), "services": {"site-tools": {"image": "x", "imgae": "x"}}}
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


def test_every_image_is_pinned_never_latest() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        if image.startswith("${SITE_TOOLS_IMAGE"):  # ours: the version the town chose, required
            assert re.fullmatch(r"\$\{SITE_TOOLS_IMAGE:\?[^}]*\}:\$\{SITE_TOOLS_VERSION:\?[^}]*\}", image)
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and re.match(r"\d+(\.\d+)*-", tag), f"{name}: {image} is not pinned to a major version"


def test_postgres_keeps_its_data_on_a_named_volume_on_the_private_network_only() -> None:
    spec = compose()
    postgres = spec["services"]["postgres"]
    volume, _, target = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data")).partition(":")
    assert volume in spec["volumes"], "PostgreSQL's data must be on a named volume"
    assert postgres["networks"] == ["private"] and spec["networks"]["private"]["internal"] is True
    assert "pg_isready" in postgres["healthcheck"]["test"]
    service = spec["services"]["site-tools"]
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_only_caddy_faces_the_internet() -> None:
    published = {name for name, service in compose()["services"].items() if service.get("ports")}
    assert published == {"caddy"}


def test_the_service_and_the_backup_share_the_image_and_the_content_volume() -> None:
    services = compose()["services"]
    service, backup = services["site-tools"], services["backup"]
    assert backup["image"] == service["image"]
    assert "content:/var/lib/site-tools/avvisi" in service["volumes"]
    assert any(v.startswith("backups:/backups") for v in backup["volumes"])
    script = " ".join(backup["command"])
    assert 'site-tools backup /backups --keep "${BACKUP_KEEP:-14}"' in script.replace("$$", "$")
    assert "sleep 86400" in script


# -- the Caddyfile ----------------------------------------------------------------------------------------------
def _caddy_paths() -> list[str]:
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    matchers = re.findall(r"^\s*@public path (.+)$", text, flags=re.M)
    assert len(matchers) == 1 and text.count("reverse_proxy") == 1
    assert re.search(r"handle @public \{.*?reverse_proxy site-tools:8080", text, flags=re.S)
    assert re.search(r"handle \{\s*respond \"Not found\" 404", text), "anything else must be answered by Caddy"
    return matchers[0].split()


def caddy_routes(path: str) -> bool:
    """Caddy's ``path`` matcher: exact, or a prefix when the pattern ends with ``*``."""
    return any(path == p or (p.endswith("*") and path.startswith(p[:-1])) for p in _caddy_paths())


def _service_routes() -> set[str]:
    """The top-level paths the service's app and the editor's login declare (read from their source)."""
    found: set[str] = set()
    for module in ("app.py", "oauth.py"):
        source = (REPO / "site_tools" / "service" / module).read_text(encoding="utf-8")
        found |= set(re.findall(r"(?:Route|Mount)\(\s*\"(/[^\"]*)\"", source))
    return found


def test_the_backup_holds_the_stores_address_and_no_other_secret() -> None:
    """The backup container gets no env_file: Meta's, Telegram's and GitHub's tokens stay in the service's."""
    backup = compose()["services"]["backup"]
    assert backup.get("env_file") == []
    assert set(backup["environment"]) == {"SITE_TOOLS_DB", "BACKUP_KEEP"}
    service = compose()["services"]["site-tools"]
    assert service["env_file"] == ".env"


def test_caddy_routes_every_public_path_of_the_service() -> None:
    public = _service_routes() - PRIVATE_ROUTES
    assert {"/webhook", "/health", "/publish", "/publish/issues", "/sportello", "/cms/auth"} <= public
    for path in public:
        assert caddy_routes(path), f"{path} is not routed by Caddy"
    assert caddy_routes("/sportello/conversazioni/12/rispondi") and caddy_routes("/sportello/")


def test_caddy_never_routes_metrics_or_anything_else() -> None:
    for path in (*PRIVATE_ROUTES, "/metrics/", "/metricsx", "/", "/admin/", "/_sim/messages", "/healthz"):
        assert not caddy_routes(path), f"{path} must not reach the service from the internet"


# -- deploy/.env.example ----------------------------------------------------------------------------------------
def _env_example() -> tuple[dict[str, bool], set[str], set[str]]:
    """Names set in the file (name → set, rather than commented as optional), the compose-only ones, and the
    settings the file lists as not needed on the server."""
    assigned: dict[str, bool] = {}
    compose_only: set[str] = set()
    not_needed: set[str] = set()
    section = ""
    previous = ""
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ----"):
            section = line
        elif "Non servono sul server" in section:
            not_needed |= set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", line))
        elif match := re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line):
            assigned[match.group(2)] = match.group(1) is None
            if "Solo per docker compose" in section:
                assert previous.startswith("# "), f"{match.group(2)}: a compose-only variable says what it is for"
                compose_only.add(match.group(2))
        previous = line
    return assigned, compose_only, not_needed


def test_env_example_accounts_for_every_setting_of_the_package() -> None:
    assigned, compose_only, not_needed = _env_example()
    for name in NAMES:
        assert (name in assigned) != (name in not_needed), (
            f"{name} (site_tools/settings.py): name it in deploy/.env.example, or say why the server does not need it"
        )
    assert not compose_only & set(NAMES)
    unknown = set(assigned) - set(NAMES) - compose_only
    assert not unknown, f"not settings of site-tools nor compose variables: {unknown}"
    assert not not_needed - set(NAMES), f"not settings: {not_needed - set(NAMES)}"


def test_every_setting_the_service_reads_is_named_for_the_server() -> None:
    aliases = {name: str(field.validation_alias) for name, field in Settings.model_fields.items()}
    sources = [*(REPO / "site_tools" / "service").rglob("*.py"), REPO / "site_tools" / "cli" / "service.py"]
    read = {aliases[a] for src in sources for a in re.findall(r"settings\.(\w+)", src.read_text()) if a in aliases}
    # The service's fallback for SITE_TOOLS_REPOSITORY when it runs inside GitHub Actions (the tests' workflows).
    read -= {"GITHUB_REPOSITORY"}
    assert {"WHATSAPP_APP_SECRET", "SITE_TOOLS_REPOSITORY", "SITE_TOOLS_SESSION_SECRET"} <= read
    assigned, _, _ = _env_example()
    assert read <= set(assigned), f"read by the service, missing from deploy/.env.example: {read - set(assigned)}"


def test_every_variable_compose_and_caddy_use_is_in_env_example() -> None:
    assigned, compose_only, _ = _env_example()
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))  # $${…} is the container shell's, not compose's
    used |= set(re.findall(r"\{\$([A-Z_][A-Z0-9_]*)\}", (DEPLOY / "Caddyfile").read_text(encoding="utf-8")))
    assert used - {n for n, on in assigned.items() if on} == set(), "set these in deploy/.env.example"
    assert compose_only <= used, f"compose-only variables nothing uses: {compose_only - used}"


def test_the_example_holds_no_secret() -> None:
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if not line.startswith("#") and any(w in name for w in ("TOKEN", "SECRET", "PASSWORD")):
            assert value == "", f"{name} must be empty in the example"


# -- the Dockerfile -------------------------------------------------------------------------------------------------
def test_hadolint_finds_nothing() -> None:
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint is not installed (it is in the test extra: ./scripts/setup)")
    done = subprocess.run([str(hadolint), "Dockerfile"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((REPO / ".hadolint.yaml").read_text())
    lines = (REPO / ".hadolint.yaml").read_text().splitlines()
    for rule in config.get("ignored", []):
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- {rule}")
        assert lines[at - 1].strip().startswith("#"), f"{rule} is ignored without a reason"


def test_the_image_runs_unprivileged_with_a_python_healthcheck() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert len(bases) == 2 and len(set(bases)) == 1, "both stages on the same Python (the venv is copied across)"
    assert re.fullmatch(r"python:3\.\d+-slim-\w+", bases[0])
    assert re.search(r"^USER \d+:\d+$", text, flags=re.M), "a numeric non-root user"
    assert not [line for line in text.splitlines() if "curl" in line and not line.startswith("#")]
    assert re.search(r"^HEALTHCHECK .*\n?.*-m\", \"site_tools\.service\.healthcheck", text, flags=re.M)
    workdir = re.findall(r"^WORKDIR (\S+)", text, flags=re.M)[-1]
    assert f'VOLUME ["{workdir}"]' in text
    assert "deploy/install /opt/site-tools" in text
    assert re.search(r'^CMD \["site-tools", "webhook", "--init-checkout", "--host", "0.0.0.0"', text, flags=re.M)


def test_the_build_context_leaves_out_what_the_image_must_not_hold() -> None:
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*", "everything out, then what the install needs back in"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "site_tools", "deploy"} <= allowed
    assert not allowed & {"tests", "node_modules", ".venv", "content", "mkdocs.yml", "package.json"}
    assert "deploy/.env" in rules, "a filled-in .env (secrets) never goes into an image"


# -- GitHub's host keys in the image ------------------------------------------------------------------------------
#: As GitHub documents them (docs.github.com, «GitHub's SSH key fingerprints»).
GITHUB_FINGERPRINTS = {
    "ssh-ed25519": "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
    "ecdsa-sha2-nistp256": "SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
}


def test_the_github_host_keys_are_githubs() -> None:
    keys = [line.split() for line in (DEPLOY / "github_known_hosts").read_text().splitlines() if line]
    assert {kind for _, kind, _ in keys} == set(GITHUB_FINGERPRINTS)
    for host, kind, blob in keys:
        digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
        assert host == "github.com" and f"SHA256:{digest}" == GITHUB_FINGERPRINTS[kind]


# -- systemd ------------------------------------------------------------------------------------------------------
UNITS = ("site-tools.service", "site-tools-backup.service", "site-tools-backup.timer")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


def installed_binary() -> str:
    """Where deploy/install puts the command: its default prefix, then .venv/bin/site-tools."""
    match = re.search(r"PREFIX=\$\{1:-\$\{SITE_TOOLS_PREFIX:-([^}]+)\}\}", (DEPLOY / "install").read_text())
    assert match
    return f"{match.group(1)}/.venv/bin/site-tools"


def test_the_service_unit_runs_the_installed_program_in_the_checkout_hardened() -> None:
    service = unit("site-tools.service")["Service"]
    assert service["ExecStart"].split()[:3] == [installed_binary(), "webhook", "--init-checkout"]
    assert "--host 127.0.0.1" in service["ExecStart"]  # behind the proxy, never on a public address
    workdir = re.findall(r"^WORKDIR (\S+)", DOCKERFILE.read_text(), flags=re.M)[-1]
    assert service["WorkingDirectory"] == workdir  # the same place as in the image
    assert service["ReadWritePaths"] == workdir
    assert service["EnvironmentFile"] == "/etc/site-tools/env"
    assert service["Restart"] == "always"  # it exits 3 when a loop keeps failing
    assert service["User"] != "root"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}.items():
        assert service[key] == value


def test_the_backup_runs_every_night_with_the_same_settings() -> None:
    timer = unit("site-tools-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    backup = unit("site-tools-backup.service")["Service"]
    assert backup["Type"] == "oneshot"
    command = backup["ExecStart"].split()
    assert command[:2] == [installed_binary(), "backup"] and command[-2:] == ["--keep", "${BACKUP_KEEP}"]
    assert backup["ReadWritePaths"] == command[2]
    assert backup["EnvironmentFile"] == unit("site-tools.service")["Service"]["EnvironmentFile"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    # The program is not installed on this machine: the units point at a stand-in executable (the path itself is
    # checked against deploy/install by the tests above).
    stand_in = tmp_path / "site-tools"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace(installed_binary(), str(stand_in)))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / n) for n in UNITS)], capture_output=True, text=True
    )
    # Unknown keys are only warnings: any output is a finding.
    assert done.returncode == 0 and done.stderr.strip() == "" and done.stdout.strip() == "", done.stderr
