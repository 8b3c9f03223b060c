"""Base of the fleet config models: the shared model class, the cluster and security models,
and the error type that carries every problem in a stack file with its key path and value.

The add-on sections (``stacks.sections``) and the top-level ``FleetConfig`` (``stacks.config``)
build on this module; it imports neither, so imports run one way.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
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
# An identity-provider group as a Kubernetes RBAC subject: an e-mail, an IAM-style name or an
# OIDC-prefixed name. No whitespace, quotes or braces: the name lands in RBAC subjects, object
# names and Helm/ApplicationSet templates.
GROUP_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._@+:-]*[A-Za-z0-9])?$")


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


def app_namespace_keys(v: dict[str, Any]) -> dict[str, Any]:
    """Validator of maps keyed by application namespace: every key must be one."""
    unknown = sorted(set(v) - set(APPLICATION_NAMESPACES))
    if unknown:
        raise ValueError(f"{unknown} are not application namespaces ({', '.join(APPLICATION_NAMESPACES)})")
    return v


class NetworkConfig(Model):
    """A cluster's address ranges. Whatever is absent is allocated from the fleet plan."""

    slot: int | None = Field(
        default=None, ge=0,
        description="Pin the cluster's /16 block in addressSpace; default: a hash of the cluster's name.")
    vpc_cidr: ipaddress.IPv4Network | None = Field(
        default=None,
        description="VPC/VNet range; default: the block's /18 at +0.0. At least /20, inside addressSpace, "
                    "disjoint from every other range of the fleet.")
    pod_cidr: ipaddress.IPv4Network | None = Field(
        default=None, description="Pod range; default: the block's /17 at +128.0. At least /20, same rules as vpcCidr.")
    service_cidr: ipaddress.IPv4Network | None = Field(
        default=None,
        description="Service range; default: the block's /20 at +64.0. /12 to /24, same rules as vpcCidr; RFC 1918 on EKS.")

    _check = field_validator("vpc_cidr", "pod_cidr", "service_cidr", mode="before")(_cidr)


class NodesConfig(Model):
    """The cluster's baseline managed node pool (system workloads and autoscaler hosts)."""

    instance_type: str | None = Field(
        default=None,
        description="EC2 type, Azure VM size or GCE machine type; default per cloud: m6i.large, Standard_D4s_v5, e2-standard-4.")
    min_size: int = Field(default=1, ge=1, le=100, description="Fewest nodes; minSize ≤ desiredSize ≤ maxSize.")
    desired_size: int = Field(default=2, ge=1, le=100, description="Nodes at creation.")
    max_size: int = Field(default=3, ge=1, le=100, description="Most nodes the pool scales to.")
    disk_size_gb: int = Field(default=50, ge=20, le=2048, description="Root disk of each node, GB.")


DEFAULT_INSTANCE_TYPES: dict[str, str] = {"aws": "m6i.large", "azure": "Standard_D4s_v5", "gcp": "e2-standard-4"}


class ClusterConfig(Model):
    """One managed cluster of the fleet (an item of ``clusters``)."""

    name: str = Field(
        pattern=DNS_LABEL, max_length=MAX_CLUSTER_NAME,
        description="DNS-1123 label, unique in the fleet; the tightest derived limits (GKE 40, GCP service "
                    "accounts 30, Azure storage 24) leave 20 characters for the name.")
    cloud: Cloud = Field(description="The cloud the cluster runs in: EKS, AKS or GKE.")
    region: str = Field(description="A real region of that cloud (stacks/regions.py).")
    role: Role = Field(default="workload", description="management runs the fleet's hubs (Argo CD, Submariner broker); exactly one.")
    kubernetes_version: str = Field(
        pattern=r"^1\.\d{1,2}$",
        description='"1.NN", within the cloud\'s supported range (stacks/versions.py).')
    network: NetworkConfig = Field(default=NetworkConfig(), description="The cluster's address ranges.")
    nodes: NodesConfig = Field(default=NodesConfig(), description="The managed system node pool.")
    zones: list[str] | None = Field(
        default=None, min_length=1,
        description="Availability zones; default AWS <region>a/b/c, Azure 1,2,3, GCP chosen by GKE. AWS: 2 or 3 zones of the region.")


class GroupBinding(Model):
    """An identity-provider group and what it may do in every cluster.

    ``name`` is the group as Kubernetes sees it (the RBAC subject). Each cloud maps its own
    identity to that name: EKS access entries give ``awsRoleArn`` the Kubernetes group ``name``;
    AKS takes the Entra group ``azureObjectId`` (Azure RBAC + Kubernetes RBAC on the group id);
    GKE Google Groups for RBAC uses the group e-mail ``name`` directly.
    """

    name: str = Field(
        min_length=1, max_length=256,
        description="The group as Kubernetes sees it (the RBAC subject); system: groups are rejected.")
    cluster_role: Literal["cluster-admin", "view"] | None = Field(
        default=None, description="ClusterRole bound cluster-wide to the group (ClusterRoleBinding).")
    namespace_roles: dict[str, Literal["developer", "viewer"]] = Field(
        default={},
        description="Application namespace -> role: developer (read/write on workloads; Secrets read only with "
                    "security.developerSecretsRead) or viewer (the built-in view).")
    aws_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+$",
        description="IAM role an EKS access entry maps to the Kubernetes group name; must not be the deployer's role.")
    azure_object_id: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$",
        description="Entra group object id, the RBAC subject on AKS; a group without one gets no binding on AKS.")

    _app_namespaces = field_validator("namespace_roles")(lambda v: app_namespace_keys(v))

    @field_validator("name")
    @classmethod
    def _not_broad(cls, v: str) -> str:
        if not GROUP_NAME.fullmatch(v):
            raise ValueError("is not a group name (letters, digits and . _ @ + : -; it lands in RBAC subjects, "
                             "object names and Argo CD templates)")
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
        default=[],
        description="Public API endpoint allowed from these CIDRs only; empty = private endpoint only. 0.0.0.0/0 is "
                    "rejected; a dev-only relaxation (an error in staging and prod).",
    )
    groups: list[GroupBinding] = Field(
        default_factory=lambda: [GroupBinding.model_validate(g) for g in DEFAULT_GROUPS],
        description="OIDC-group RBAC in every cluster; default: platform-team -> cluster-admin, developers -> "
                    "developer in production and staging.")
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


# Longest value an error message echoes: a stack file is untrusted and a value may be megabytes.
MAX_ECHO = 120


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    value: Any
    message: str
    line: int | None = None  # line in the stack file, when the loader knows it

    def __str__(self) -> str:
        path = shown_path(self.path)
        if self.value is NO_VALUE:
            return f"{path}: {self.message}" if path else self.message
        shown = "(missing)" if self.value is _MISSING else echo(self.value)
        return f"{path}: {shown} {self.message}" if path else self.message


def shown_path(path: str) -> str:
    """A key path for a message: control characters escaped (a key may hold a newline or an
    escape sequence), at most 2 x :data:`MAX_ECHO` characters."""
    if not path.isprintable():
        path = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in path)
    return path if len(path) <= 2 * MAX_ECHO else path[: 2 * MAX_ECHO] + "…"


def echo(value: Any) -> str:
    """``repr`` of a value for an error message, one line and at most :data:`MAX_ECHO` characters."""
    source = getattr(value, "source", None) if isinstance(value, float) else None
    if source is not None:
        return str(source)  # a float as written in YAML (1.30, not 1.3)
    text = repr(_plain(value))
    if len(text) > MAX_ECHO:
        text = f"{text[:MAX_ECHO]}… ({len(text)} characters)"
    return text


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()
NO_VALUE = object()  # an issue about the file itself, not about one value


def _plain(value: Any) -> Any:
    if isinstance(value, ipaddress.IPv4Network):
        return str(value)
    return value


class ConfigError(Exception):
    """Every problem found in a stack's config, reported together.

    ``source`` (the stack file's name) and ``lines`` (key path -> line, from the loader) place each
    problem in the file; ``names`` (cluster index -> name) lets a path say which cluster it means.
    """

    def __init__(self, issues: list[ConfigIssue], *, source: str | None = None,
                 lines: dict[str, int] | None = None, names: dict[int, str] | None = None):
        self.issues = issues
        self.source = source
        self.lines = lines or {}
        self.names = names or {}
        super().__init__(self.render())

    def locate(self, source: str, lines: dict[str, int]) -> ConfigError:
        self.source, self.lines = source, lines
        return self

    def _line(self, issue: ConfigIssue) -> int | None:
        if issue.line is not None:
            return issue.line
        path = issue.path
        while path:  # the key itself, else the nearest enclosing key the file has
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    def _named(self, path: str) -> str:
        """``clusters[2].region`` -> ``clusters[2:dev-aks].region``: the index and the cluster's name
        (not ``[2](dev-aks)``, which Markdown renders as a link when the output lands in a PR comment)."""
        def name(m: re.Match[str]) -> str:
            i = int(m.group(1))
            return f"clusters[{i}:{self.names[i]}]" if i in self.names else m.group(0)

        return _CLUSTER_INDEX.sub(name, path)

    def render(self) -> str:
        n = len(self.issues)
        where = f"{self.source}: " if self.source else ""
        lines = [f"{where}invalid fleet config: {n} error{'s' if n != 1 else ''}"]
        for issue in self.issues:
            line = self._line(issue)
            at = (f"{self.source}:{line}: " if line else f"{self.source}: ") if self.source else (f"line {line}: " if line else "")
            text = str(issue)
            path = shown_path(issue.path)
            if path:
                text = self._named(path) + text[len(path):]
            lines.append(f"  - {at}{text}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


_CLUSTER_INDEX = re.compile(r"^clusters\[(\d+)\]")


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
        if err["type"] == "string_type" and isinstance(value, (bool, int, float)):
            kind = "boolean" if isinstance(value, bool) else "number"
            written = getattr(value, "source", None) or (str(value).lower() if isinstance(value, bool) else str(value))
            msg = (f"must be quoted: unquoted, YAML reads it as the {kind} {value!r}; write \"{written}\"")
        if err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "name":
            msg = "is not a DNS-1123 label (lowercase letters, digits and '-', starting with a letter)"
        issues.append(ConfigIssue(format_path(loc), value, msg))
    return issues
