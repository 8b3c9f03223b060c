"""The ``argocd`` config section: the hub's GitOps repository and how clusters join the hub."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

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


# A git ref as `git check-ref-format` accepts it, narrowed to the characters branch, tag and
# commit names use in practice (git-scm.com/docs/git-check-ref-format): no whitespace or control
# characters, no '..', '@{', '//', no leading '-', '/' or '.', no trailing '/', '.' or '.lock'.
# No braces either: the value lands in an ApplicationSet template, whose {{...}} would expand it.
GIT_REF = re.compile(r"^(?!.*(\.\.|@\{|//|/\.|\.lock$))(?![-/.])[A-Za-z0-9._/+-]{1,255}(?<![/.])$")
# A relative path inside the repository: plain segments, no '.' or '..' segment, no leading '/'.
REPO_PATH = re.compile(r"^(?!.*(^|/)\.{1,2}(/|$))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
TEMPLATE = re.compile(r"\{\{|\}\}|\$\{")


class ArgoCDConfig(Model):
    """Argo CD on the management cluster (the hub) and the reference ApplicationSet."""

    repo_url: str = Field(default="https://github.com/company/k8s-manifests",
                          description="Git repository the ApplicationSet reads (HTTPS or SSH).")
    revision: str = Field(default="main", min_length=1, description="Branch, tag or commit of repoUrl: a git ref (no whitespace, '..', leading '-' or braces).")
    path_prefix: str = Field(default="clusters", description="Each cluster's apps live at <pathPrefix>/<cluster name>: a relative path inside the repository (no '.' or '..' segment).")
    manage_management: bool = Field(default=False, description="Register the hub with itself so it syncs its own apps.")
    standalone: list[str] = Field(default=[], description="Workload clusters running their own Argo CD, not joined to the hub.")
    controller_shards: int = Field(default=3, ge=1, le=20, description="Application-controller replicas (shards) in prod.")

    @field_validator("revision")
    @classmethod
    def _git_ref(cls, v: str) -> str:
        if not GIT_REF.fullmatch(v):
            raise ValueError("is not a git branch, tag or commit (letters, digits and . _ / + -; no '..', "
                             "no leading '-', no whitespace or template braces)")
        return v

    @field_validator("path_prefix")
    @classmethod
    def _repo_path(cls, v: str) -> str:
        if not REPO_PATH.fullmatch(v):
            raise ValueError("is not a relative path inside the repository (segments of letters, digits, "
                             "'_', '.', '-'; no '.' or '..' segment, no leading '/')")
        return v


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:

    cfg: ArgoCDConfig = fleet.argocd
    issues: list[ConfigIssue] = []
    if not REPO_URL.match(cfg.repo_url):
        issues.append(ConfigIssue("argocd.repoUrl", cfg.repo_url,
                                  "must be an https:// or SSH (ssh://... or git@host:path) repository URL"))
    elif _has_credentials(cfg.repo_url) or urlsplit(cfg.repo_url).query or urlsplit(cfg.repo_url).fragment:
        # The URL lands unmasked in AppProjects, ApplicationSets and annotations: no credentials in it.
        issues.append(ConfigIssue("argocd.repoUrl", "<redacted URL with credentials>",
                                  "must not carry credentials, a query string or a fragment; give credentials to "
                                  "Argo CD as a repository Secret"))
    elif TEMPLATE.search(cfg.repo_url):
        # The ApplicationSet would expand {{...}} in it, the AppProject's sourceRepos would not.
        issues.append(ConfigIssue("argocd.repoUrl", cfg.repo_url, "must not contain template syntax ({{...}} or ${...})"))
    roles = {c.name: c.role for c in parsed.values()}
    complete = isinstance(raw.get("clusters"), list) and len(parsed) == len(raw["clusters"])
    seen: set[str] = set()
    for j, name in enumerate(cfg.standalone):
        path = f"argocd.standalone[{j}]"
        if name in seen:
            issues.append(ConfigIssue(path, name, "is listed twice"))
        seen.add(name)
        if name not in roles:
            if not complete:
                continue  # maybe the cluster that failed to parse: no error caused by another one
            issues.append(ConfigIssue(path, name, f"is not a cluster of the fleet (clusters: {', '.join(sorted(roles))})"))
        elif roles[name] == "management":
            issues.append(ConfigIssue(path, name, "is the management cluster, which runs the hub itself"))
    return issues
