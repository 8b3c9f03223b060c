"""The ``argocd`` config section: the hub's GitOps repository and how clusters join the hub."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field

from stacks.core import ClusterConfig, ConfigIssue, Model

if TYPE_CHECKING:
    from stacks.config import FleetConfig

# https://host/path, ssh://[user@]host[:port]/path, or scp-like git@host:path. Plain http://,
# git:// and file:// are refused: they are unauthenticated or unencrypted.
def _has_credentials(url: str) -> bool:
    """A user on https, or a password anywhere (``ssh://git@host`` names only the SSH user)."""
    parts = urlsplit(url)
    return bool(parts.password) or (parts.scheme == "https" and bool(parts.username))


REPO_URL = re.compile(r"^(https://[^\s/]+/\S+|ssh://([\w.-]+@)?[\w.-]+(:\d+)?/\S+|git@[\w.-]+:\S+)$")


class ArgoCDConfig(Model):
    """Argo CD on the management cluster (the hub) and the reference ApplicationSet."""

    repo_url: str = Field(default="https://github.com/company/k8s-manifests",
                          description="Git repository the ApplicationSet reads (HTTPS or SSH).")
    revision: str = Field(default="main", min_length=1, description="Branch, tag or commit of repoUrl.")
    path_prefix: str = Field(default="clusters", pattern=r"^[\w.-]+(/[\w.-]+)*$",
                             description="Each cluster's apps live at <pathPrefix>/<cluster name>.")
    manage_management: bool = Field(default=False, description="Register the hub with itself so it syncs its own apps.")
    standalone: list[str] = Field(default=[], description="Workload clusters running their own Argo CD, not joined to the hub.")
    controller_shards: int = Field(default=3, ge=1, le=20, description="Application-controller replicas (shards) in prod.")


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:

    cfg: ArgoCDConfig = fleet.argocd
    issues: list[ConfigIssue] = []
    if not REPO_URL.match(cfg.repo_url):
        issues.append(ConfigIssue("argocd.repoUrl", cfg.repo_url,
                                  "must be an https:// or SSH (ssh://... or git@host:path) repository URL"))
    elif _has_credentials(cfg.repo_url):
        # The URL lands unmasked in AppProjects, ApplicationSets and annotations: no credentials in it.
        issues.append(ConfigIssue("argocd.repoUrl", "<redacted URL with credentials>",
                                  "must not carry credentials; give them to Argo CD as a repository Secret"))
    roles = {c.name: c.role for c in parsed.values()}
    seen: set[str] = set()
    for j, name in enumerate(cfg.standalone):
        path = f"argocd.standalone[{j}]"
        if name in seen:
            issues.append(ConfigIssue(path, name, "is listed twice"))
        seen.add(name)
        if name not in roles:
            issues.append(ConfigIssue(path, name, f"is not a cluster of the fleet (clusters: {', '.join(sorted(roles))})"))
        elif roles[name] == "management":
            issues.append(ConfigIssue(path, name, "is the management cluster, which runs the hub itself"))
    return issues
