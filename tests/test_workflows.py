"""The GitHub workflows' security-relevant shape (actionlint checks the rest: `make actionlint`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
OIDC_ACTIONS = {
    "aws-actions/configure-aws-credentials": {"role-to-assume"},
    "azure/login": {"client-id", "tenant-id", "subscription-id"},
    "google-github-actions/auth": {"workload_identity_provider"},
    "pulumi/auth-actions": {"organization"},
}
LONG_LIVED_INPUTS = {"aws-access-key-id", "aws-secret-access-key", "creds", "credentials_json", "client-secret"}


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def _steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, s) for job_id, job in doc["jobs"].items() for s in job.get("steps", [])]


ALL = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


@pytest.mark.parametrize("name", ALL)
def test_actions_are_pinned_to_commits_and_credentials_are_federated(name: str) -> None:
    doc = _load(name)
    assert doc["permissions"] == {"contents": "read"}, "workflow default must be read-only"
    for job_id, step in _steps(doc):
        uses = step.get("uses")
        if not uses:
            continue
        assert PINNED.match(uses), f"{name}:{job_id}: {uses} is not pinned to a commit"
        action = uses.split("@")[0]
        given = set(step.get("with", {}))
        assert not given & LONG_LIVED_INPUTS, f"{name}:{job_id}: {action} is given a long-lived key"
        if action in OIDC_ACTIONS:
            assert OIDC_ACTIONS[action] <= given, f"{name}:{job_id}: {action} lacks {OIDC_ACTIONS[action] - given}"
    for job_id, job in doc["jobs"].items():
        uses_oidc = any(s.get("uses", "").split("@")[0] in OIDC_ACTIONS for s in job.get("steps", [])) or "uses" in job
        perms = job.get("permissions", {})
        if uses_oidc:
            assert perms.get("id-token") == "write", f"{name}:{job_id} needs id-token: write for OIDC"
        assert set(perms.values()) <= {"read", "write"} and set(perms) <= {"contents", "id-token", "pull-requests"}


def test_pull_request_previews_each_stack_with_the_policy_pack() -> None:
    doc = _load("pull-request.yml")
    assert doc["on"] == {"pull_request": {"branches": ["main"]}}
    preview = doc["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert "${{ matrix.stack }}" in preview["concurrency"]["group"]
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    pulumi = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    runs = [s.get("run", "") for s in doc["jobs"]["test"]["steps"]]
    assert any("make lint" in r for r in runs) and any("make test" in r for r in runs)
    diff_job = doc["jobs"]["plan-diff"]
    assert any("make --no-print-directory diff" in s.get("run", "") for s in diff_job["steps"])
    assert any(s.get("uses", "").startswith("actions/github-script@") for s in diff_job["steps"])
    assert any("make policy STACK=prod" in s.get("run", "") for s in diff_job["steps"])


def test_main_deploys_dev_then_prod_behind_its_environment() -> None:
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"] == {"branches": ["main"]}
    jobs = deploy["jobs"]
    assert jobs["up-dev"]["with"] == {"stack": "dev"} and jobs["up-dev"]["needs"] == "test"
    # prod bootstraps in two phases: the runner from a hosted runner, then everything on the runner.
    assert jobs["up-prod-runner"]["with"] == {"stack": "prod", "phase": "runner"} and jobs["up-prod-runner"]["needs"] == "up-dev"
    assert jobs["up-prod"]["needs"] == "up-prod-runner"
    from components.fleet.deployer import runs_on_label

    assert jobs["up-prod"]["with"] == {"stack": "prod", "runs-on": runs_on_label("prod-mgmt")}
    up = _load("pulumi-up.yml")["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"  # "prod" carries the required reviewers
    assert up["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
    pulumi = next(s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "up" and pulumi["with"]["policyPacks"] == "policy"
