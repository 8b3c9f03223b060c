"""Test-only Pulumi program: build the stack's clusters and ask each handle for one workload
identity, so tests can see what ``ClusterHandle.grant_workload_identity`` registers per cloud.

Run by tests/test_security.py under the mock engine (``run_plan(stack, root=<dir with this file
as __main__.py>)``); never part of the real program.
"""

import json

import pulumi

from components.clusters import build_cluster
from components.handle import CloudPermissions
from components.providers import CloudProviders
from stacks.loader import load_spec_from_runtime

NAMESPACE, SERVICE_ACCOUNT, PURPOSE = "wi-probe", "probe-sa", "wi-probe"
AZURE_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # Storage Blob Data Reader
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})

fleet = load_spec_from_runtime(pulumi.get_stack())
providers = CloudProviders(environment=fleet.environment, gcp_project=fleet.gcp_project)
identities = {}
for cluster in fleet.clusters:
    handle = build_cluster(cluster, fleet, providers)
    wi = handle.grant_workload_identity(
        NAMESPACE, SERVICE_ACCOUNT,
        CloudPermissions(
            aws_policy=lambda: POLICY,
            azure_roles=lambda h=handle: [(AZURE_ROLE, h.cloud_outputs["resourceGroupId"])],
            gcp_roles=lambda: ["roles/storage.objectViewer"],
        ),
        purpose=PURPOSE, parent=handle.component,
    )
    identities[handle.name] = {"annotations": wi.service_account_annotations, "podLabels": wi.pod_labels,
                               "principal": wi.principal, "oidcIssuer": handle.oidc_issuer}
pulumi.export("identities", identities)
