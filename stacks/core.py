"""Base of the fleet config models: the shared model class, the cluster and security models,
and the error type that carries every problem in a stack file with its key path and value.

The add-on sections (``stacks.sections``) and the top-level ``FleetConfig`` (``stacks.config``)
build on this module; it imports neither, so imports run one way.
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .baseline import APPLICATION_NAMESPACES

PROJECT = "archipelago"

Cloud = Literal["aws", "azure", "gcp"]
Role = Literal["management", "workload"]
Environment = Literal["dev", "staging", "prod"]

# Longest cluster name accepted. The tightest cloud limits are GKE cluster names (40) and the
# names derived from a cluster name: GCP service-account ids (30, e.g. "<name>-velero") and
# Azure storage accounts (24 lowercase alphanumerics, see components.naming).
MAX_CLUSTER_NAME = 20
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


class Model(BaseModel):
    """Base of every config model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=True,
    )


def _cidr(value: Any) -> ipaddress.IPv4Network | None:
    if value is None or isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        # pydantic turns ValueError (not TypeError) into a ValidationError naming the key.
        raise ValueError("must be an IPv4 CIDR string such as 10.0.0.0/16")  # noqa: TRY004
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"is not a valid IPv4 network ({exc})") from None


class NetworkConfig(Model):
    """A cluster's address ranges. Whatever is absent is allocated from the fleet plan."""

    slot: int | None = Field(default=None, ge=0, description="Pin the cluster's block in the address plan.")
    vpc_cidr: ipaddress.IPv4Network | None = None
    pod_cidr: ipaddress.IPv4Network | None = None
    service_cidr: ipaddress.IPv4Network | None = None

    _check = field_validator("vpc_cidr", "pod_cidr", "service_cidr", mode="before")(_cidr)


class NodesConfig(Model):
    """The cluster's baseline managed node pool (system workloads and autoscaler hosts)."""

    instance_type: str | None = Field(default=None, description="EC2 type, Azure VM size or GCE machine type.")
    min_size: int = Field(default=1, ge=1, le=100)
    desired_size: int = Field(default=2, ge=1, le=100)
    max_size: int = Field(default=3, ge=1, le=100)
    disk_size_gb: int = Field(default=50, ge=20, le=2048)


DEFAULT_INSTANCE_TYPES: dict[str, str] = {"aws": "m6i.large", "azure": "Standard_D4s_v5", "gcp": "e2-standard-4"}


class ClusterConfig(Model):
    name: str = Field(pattern=DNS_LABEL, max_length=MAX_CLUSTER_NAME)
    cloud: Cloud
    region: str
    role: Role = "workload"
    kubernetes_version: str = Field(pattern=r"^1\.\d{1,2}$")
    network: NetworkConfig = NetworkConfig()
    nodes: NodesConfig = NodesConfig()
    zones: list[str] | None = Field(default=None, min_length=1)


class GroupBinding(Model):
    """An identity-provider group and what it may do in every cluster.

    ``name`` is the group as Kubernetes sees it (the RBAC subject). Each cloud maps its own
    identity to that name: EKS access entries give ``awsRoleArn`` the Kubernetes group ``name``;
    AKS takes the Entra group ``azureObjectId`` (Azure RBAC + Kubernetes RBAC on the group id);
    GKE Google Groups for RBAC uses the group e-mail ``name`` directly.
    """

    name: str = Field(min_length=1, max_length=256)
    cluster_role: Literal["cluster-admin", "view"] | None = None
    namespace_roles: dict[str, Literal["developer", "viewer"]] = {}
    aws_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+$")
    azure_object_id: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")

    @field_validator("namespace_roles")
    @classmethod
    def _app_namespaces(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(APPLICATION_NAMESPACES))
        if unknown:
            raise ValueError(f"{unknown} are not application namespaces ({', '.join(APPLICATION_NAMESPACES)})")
        return v

    @field_validator("name")
    @classmethod
    def _not_broad(cls, v: str) -> str:
        if v.startswith("system:"):
            raise ValueError("must not be a built-in system group (system:authenticated, system:masters, ...)")
        return v


DEFAULT_GROUPS = [
    {"name": "platform-team@company.com", "clusterRole": "cluster-admin"},
    {"name": "developers@company.com", "namespaceRoles": {"production": "developer", "staging": "developer"}},
]


class SecurityConfig(Model):
    """Fleet-wide security settings (the baseline itself is stacks/baseline.py)."""

    api_allowed_cidrs: list[ipaddress.IPv4Network] = Field(
        default=[], description="Public API endpoint allowed from these CIDRs only; empty = private endpoint only."
    )
    groups: list[GroupBinding] = Field(default_factory=lambda: [GroupBinding.model_validate(g) for g in DEFAULT_GROUPS])
    developer_secrets_read: bool = Field(default=False, description="Let the developer Role read Secrets.")
    gke_security_group: str | None = Field(
        default=None,
        pattern=r"^gke-security-groups@[a-z0-9.-]+\.[a-z]+$", description="Google Groups for RBAC root group, e.g. gke-security-groups@company.com."
    )

    @field_validator("api_allowed_cidrs", mode="before")
    @classmethod
    def _cidrs(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        out = []
        for item in v:
            net = _cidr(item)
            if net is not None and net.prefixlen == 0:
                raise ValueError(f"{item} would open the API server to the whole internet")
            out.append(net)
        return out



# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        shown = "(missing)" if self.value is _MISSING else repr(_plain(self.value))
        return f"{self.path}: {shown} {self.message}"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()


def _plain(value: Any) -> Any:
    if isinstance(value, ipaddress.IPv4Network):
        return str(value)
    return value


class ConfigError(Exception):
    """Every problem found in a stack's config, reported together."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.issues)
        lines = [f"invalid fleet config: {n} error{'s' if n != 1 else ''}"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _known_keys() -> set[str]:
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [NetworkConfig, NodesConfig, ClusterConfig, GroupBinding, SecurityConfig, *EXTRA_MODELS]
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            keys.add(field.alias or name)
            # Nested section models (e.g. nodeProvisioning.limits) count too, without registering.
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                todo.append(field.annotation)
    return keys


# Models defined elsewhere (FleetConfig, the add-on sections) register here so that typo hints
# know their keys.
EXTRA_MODELS: list[type[BaseModel]] = []


def issues_from(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        value = err.get("input", _MISSING)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            hint = difflib.get_close_matches(key, sorted(_known_keys()), n=1)
            msg = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else "")
            issues.append(ConfigIssue(format_path(loc), key, msg))
            continue
        if err["type"] == "missing":
            issues.append(ConfigIssue(format_path(loc), _MISSING, "is required"))
            continue
        msg = err["msg"]
        msg = msg.removeprefix("Value error, ")
        if err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "name":
            msg = "is not a DNS-1123 label (lowercase letters, digits and '-', starting with a letter)"
        issues.append(ConfigIssue(format_path(loc), value, msg))
    return issues
