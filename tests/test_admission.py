"""Offline admission: real charts render with the program's values, and every check
(schema, CRD, Pod Security, Helm values) rejects what it must.

The end-to-end fixture plans the dev stack with a few extra lines appended to the real
``__main__.py`` (a Velero release from ../shared/charts and some deliberately broken objects), so
releases go through the real Pulumi serialisation into the plan record. Each chart renders once.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from components.security.namespaces import pss_labels
from offline import render
from offline.admission import Landing, Violation, check_objects, check_plan, pss
from offline.admission.values import (
    ChartKnowledge,
    chart_knowledge,
    template_reads,
    unknown_paths,
)
from offline.cli import main
from offline.plan import Plan, run_plan
from stacks.loader import ROOT

CHARTS = ROOT.parent / "shared" / "charts"

# The fleet's clusters without add-ons: the planted objects below are then the only releases and
# violations in the plan (the real stacks are checked by test_every_cluster_of_the_real_stack...).
CLUSTERS_ONLY = '''
import pulumi

from components.clusters import build_cluster
from components.providers import CloudProviders
from stacks.loader import load_spec_from_runtime

fleet = load_spec_from_runtime(pulumi.get_stack())
providers = CloudProviders(environment=fleet.environment, gcp_project=fleet.gcp_project)
handles = [build_cluster(cluster, fleet, providers) for cluster in fleet.clusters]
'''

EXTRA_PROGRAM = '''
# -- test-only additions (tests/test_admission.py) --
import pulumi_kubernetes as k8s
from components.addons.helm import release
from components.security.namespaces import pss_namespace

_h = handles[0]
_parent = pulumi.ComponentResource("archipelago:test:Admission", f"{_h.name}-admission-test")
_velero_ns = pss_namespace(_h, "velero", "restricted", parent=_parent)
release(_h, "velero", release_name="velero", namespace="velero", parent=_parent, depends_on=[_velero_ns], values={
    "upgradeCRDs": False,
    "credentials": {"useSecret": False},
    "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
    "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                 "readOnlyRootFilesystem": True},
    "configuration": {
        "backupStorageLocation": [{"name": "default", "provider": "aws", "bucket": "backups",
                                   "config": {"region": "us-east-1"}}],
        "volumeSnapshotLocation": [{"name": "default", "provider": "aws", "config": {"region": "us-east-1"}}],
        "bogusKey": 1,
    },
})
_tools = pss_namespace(_h, "tools", "baseline", parent=_parent, reason="test: baseline namespace")
k8s.apps.v1.Deployment("hostnet", metadata={"name": "hostnet", "namespace": "tools"}, spec={
    "selector": {"matchLabels": {"app": "hostnet"}},
    "template": {"metadata": {"labels": {"app": "hostnet"}}, "spec": {
        "hostNetwork": True, "containers": [{"name": "app", "image": "busybox"}]}},
}, opts=_h.k8s_opts(_parent))
k8s.core.v1.ConfigMap("badcm", metadata={"name": "badcm", "namespace": "tools"}, data={"replicas": 3},
                      opts=_h.k8s_opts(_parent))
k8s.apiextensions.CustomResource("badschedule", api_version="velero.io/v1", kind="Schedule",
                                 metadata={"name": "nightly", "namespace": "velero"},
                                 spec={"schedule": "0 3 * * *", "template": {}, "bogus": True},
                                 opts=_h.k8s_opts(_parent))
'''


@pytest.fixture(scope="session")
def test_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "__main__.py").write_text(CLUSTERS_ONLY + EXTRA_PROGRAM)
    return root


@pytest.fixture(scope="session")
def synthetic_plan(test_root: Path) -> Plan:
    return run_plan("dev", test_root)


@pytest.fixture(scope="session")
def releases(synthetic_plan: Plan) -> list[render.RenderedRelease]:
    return render.render_plan(synthetic_plan, CHARTS)


@pytest.fixture(scope="session")
def violations(synthetic_plan: Plan, releases: list[render.RenderedRelease]) -> list[Violation]:
    return check_plan(synthetic_plan, releases)


# ---- rendering ---------------------------------------------------------------------------------

def test_velero_renders_with_the_program_values(synthetic_plan: Plan, releases: list[render.RenderedRelease]) -> None:
    (rel,) = releases
    cluster = synthetic_plan.spec.clusters[0]
    assert (rel.cluster, rel.release, rel.namespace, rel.chart, rel.version) == (cluster.name, "velero", "velero", "velero", "12.1.0")
    kinds = {(o["kind"], o["metadata"].get("name")) for o in rel.objects}
    assert ("Deployment", "velero") in kinds and ("BackupStorageLocation", "default") in kinds
    # upgradeCRDs: false removes the chart's CRD-upgrade Job: values really reach the templates.
    assert not any(o["kind"] == "Job" for o in rel.objects)
    deploy = next(o for o in rel.objects if o["kind"] == "Deployment")
    assert deploy["metadata"]["namespace"] == "velero"
    assert deploy["metadata"]["labels"]["app.kubernetes.io/instance"] == "velero"
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532  # an integer again after the protobuf round trip
    bsl = next(o for o in rel.objects if o["kind"] == "BackupStorageLocation")
    assert bsl["spec"]["objectStorage"]["bucket"] == "backups"
    assert len(rel.crds) == 13 and {c["spec"]["names"]["kind"] for c in rel.crds} >= {"Backup", "Schedule"}


def test_render_uses_cluster_version_and_cluster_crds(tmp_path: Path) -> None:
    chart = tmp_path / "caps"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: caps\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        "  monitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n"
        "  apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n")
    (chart / "templates" / "NOTES.txt").write_text("Installed {{ .Release.Name }}: not a manifest\n")
    (cm,) = render.render_chart(chart, {}, name="r1", namespace="ns", kubernetes_version="1.31",
                                api_versions=["monitoring.coreos.com/v1"])
    assert cm["data"] == {"kube": "v1.31.0", "monitoring": "true", "apps": "true"}
    (cm,) = render.render_chart(chart, {}, name="r1", namespace="ns", kubernetes_version="1.34")
    assert cm["data"]["kube"] == "v1.34.0" and cm["data"]["monitoring"] == "false"


def _with_release(plan: Plan, **changes: Any) -> Plan:
    resources = copy.deepcopy(plan.resources)
    rec = next(r for r in resources if r["type"] == render.RELEASE_TYPE)
    rec["inputs"].update(changes)
    return dataclasses.replace(plan, resources=resources)


@pytest.mark.parametrize("changes,expect", [
    ({"version": "12.0.0"}, "pins velero 12.0.0 but"),
    ({"chart": "nonexistent"}, "chart 'nonexistent' not found"),
    ({"values": {"configuration": {"backupStorageLocation": "not-a-list"}}}, "velero 12.1.0"),
    ({"values": "[secret]"}, "not a map"),
], ids=["version-mismatch", "missing-chart", "template-error", "secret-values"])
def test_render_errors_name_the_release(synthetic_plan: Plan, changes: dict[str, Any], expect: str) -> None:
    with pytest.raises(render.RenderError) as exc:
        render.render_plan(_with_release(synthetic_plan, **changes), CHARTS)
    (problem,) = exc.value.problems
    assert "velero" in problem and expect in problem, problem


@pytest.mark.parametrize("constraint,version,ok", [
    (">=1.25.0-0", "1.33", True), (">=1.34.0-0", "1.33", False), (">= 1.30, < 1.34", "1.34", False),
    ("<1.20 || >=1.33", "1.33", True), ("=1.33.0", "1.33", True), ("!=1.33.0", "1.33", False),
])
def test_chart_kube_version_constraints(constraint: str, version: str, ok: bool) -> None:
    assert render.kube_version_allowed(constraint, version) is ok


def test_a_chart_that_refuses_the_cluster_version_is_an_error(synthetic_plan: Plan) -> None:
    old = synthetic_plan.spec.clusters[0]
    spec = dataclasses.replace(synthetic_plan.spec, clusters=(dataclasses.replace(old, kubernetes_version="1.15"),
                                                             *synthetic_plan.spec.clusters[1:]))
    with pytest.raises(render.RenderError) as exc:
        render.render_plan(dataclasses.replace(synthetic_plan, spec=spec), CHARTS)
    assert "requires Kubernetes >=1.16.0-0, the cluster runs 1.15" in exc.value.problems[0]


def test_skip_crds_leaves_the_chart_crds_out(synthetic_plan: Plan) -> None:
    (rel,) = render.render_plan(_with_release(synthetic_plan, skipCrds=True), CHARTS)
    assert rel.crds == [] and rel.objects


def test_oci_chart_reference_is_matched_by_name() -> None:
    assert render.chart_name("oci://public.ecr.aws/karpenter/karpenter") == "karpenter"
    assert render.chart_index(CHARTS.resolve())["karpenter"][1] == "1.14.1"


# ---- admission over the synthetic plan -----------------------------------------------------------

def test_admission_finds_exactly_the_planted_violations(synthetic_plan: Plan, violations: list[Violation]) -> None:
    cluster = synthetic_plan.spec.clusters[0].name
    got = {(v.cluster, v.namespace, f"{v.kind}/{v.name}", v.rule) for v in violations}
    assert got == {
        (cluster, "velero", "HelmRelease/velero", "helm-values"),
        (cluster, "tools", "Deployment/hostnet", "pss-baseline:host-namespaces"),
        (cluster, "tools", "ConfigMap/badcm", "schema"),
        (cluster, "velero", "Schedule/nightly", "crd-schema"),
    }, [v.line() for v in violations]
    details = {v.rule: v.detail for v in violations}
    assert "configuration.bogusKey" in details["helm-values"]
    assert "'bogus' was unexpected" in details["crd-schema"]


def test_chart_pods_are_checked_against_their_namespace_level(synthetic_plan: Plan, releases: list[render.RenderedRelease]) -> None:
    """The same Velero objects pass in ``restricted`` only thanks to the values; without them they fail."""
    cluster = synthetic_plan.spec.clusters[0]
    (rel,) = releases
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero", "labels": pss_labels("restricted")}}
    deploy = copy.deepcopy(next(o for o in rel.objects if o["kind"] == "Deployment"))
    del deploy["spec"]["template"]["spec"]["securityContext"]
    found = check_objects(cluster.name, cluster.kubernetes_version, [Landing(ns, "program", "default"), Landing(deploy, "helm:velero", "velero")])
    assert {v.rule for v in found} == {"pss-restricted:run-as-non-root", "pss-restricted:seccomp-restricted"}


def test_cli_lists_violations_and_exits_nonzero(test_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["plan", "dev", "--root", str(test_root), "--charts", str(CHARTS), "--admission", "--manifests", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 3
    assert "Deployment/hostnet  pss-baseline:host-namespaces: hostNetwork=true" in out
    assert "admission: 4 violation(s)" in out and "What lands in each cluster" in out
    assert "configuration.bogusKey" in out and "[helm:velero]" in out
    rendered = list(tmp_path.glob("*/helm-velero/deployment-velero-velero.yaml"))
    assert rendered and "kind: Deployment" in rendered[0].read_text()
    assert list(tmp_path.glob("*/helm-velero/customresourcedefinition-_cluster-schedules.velero.io.yaml"))


def test_plan_without_charts_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "dev"]) == 0
    assert "Helm charts not rendered" in capsys.readouterr().out


def test_admission_requires_charts() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plan", "dev", "--admission"])
    assert exc.value.code == 2


# ---- Pod Security: the rule table, one passing and one failing pod per rule ---------------------

def _pod() -> dict[str, Any]:
    """A pod that the restricted level admits; each case changes one thing."""
    return {"metadata": {"name": "p", "annotations": {}}, "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "app:1", "securityContext": {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }}


def _sc(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["spec"]["containers"][0]["securityContext"]


def _set(**fields: Any):
    return lambda pod: pod["spec"].update(fields)


def _csc(**fields: Any):
    return lambda pod: _sc(pod).update(fields)


def _psc(**fields: Any):
    return lambda pod: pod["spec"]["securityContext"].update(fields)


def _vol(**fields: Any):
    return lambda pod: pod["spec"]["volumes"].append({"name": "v", **fields})


def _ann(key: str, value: str):
    return lambda pod: pod["metadata"]["annotations"].update({key: value})


def _both(*changes):
    def apply(pod: dict[str, Any]) -> None:
        for change in changes:
            change(pod)
    return apply


def _drop(key: str):
    return lambda pod: _sc(pod).pop(key)


# rule id -> (change that keeps the pod admitted, change that breaks exactly this rule)
PSS_CASES = {
    "host-process": (_csc(windowsOptions={"hostProcess": False}), _psc(windowsOptions={"hostProcess": True})),
    "host-namespaces": (_set(hostNetwork=False, hostPID=False, hostIPC=False), _set(hostPID=True)),
    "privileged": (_csc(privileged=False), _csc(privileged=True)),
    "capabilities-baseline": (_csc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
                              _csc(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})),
    "host-path-volumes": (_vol(configMap={"name": "c"}), _vol(hostPath={"path": "/var/run"})),
    "host-ports": (lambda p: p["spec"]["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 0}]),
                   lambda p: p["spec"]["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}])),
    "apparmor": (_both(_csc(appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-app"}),
                       _ann("container.apparmor.security.beta.kubernetes.io/app", "runtime/default")),
                 _ann("container.apparmor.security.beta.kubernetes.io/app", "unconfined")),
    "selinux": (_csc(seLinuxOptions={"type": "container_init_t", "level": "s0:c1"}), _psc(seLinuxOptions={"type": "spc_t"})),
    "proc-mount": (_csc(procMount="Default"), _csc(procMount="Unmasked")),
    "seccomp-baseline": (_csc(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
                         _csc(seccompProfile={"type": "Unconfined"})),
    "host-probes": (lambda p: p["spec"]["containers"][0].update(livenessProbe={"httpGet": {"host": "127.0.0.1", "port": 8080}}),
                    lambda p: p["spec"]["containers"][0].update(lifecycle={"preStop": {"tcpSocket": {"host": "10.0.0.1", "port": 80}}})),
    "sysctls": (_psc(sysctls=[{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]),
                _psc(sysctls=[{"name": "kernel.msgmax", "value": "65536"}])),
    "volume-types": (_both(_vol(csi={"driver": "x"}), lambda p: p["spec"]["volumes"].append({"name": "w", "projected": {"sources": []}})),
                     _vol(nfs={"server": "nfs", "path": "/"})),
    "privilege-escalation": (_csc(allowPrivilegeEscalation=False), _drop("allowPrivilegeEscalation")),
    "run-as-non-root": (_both(lambda p: p["spec"]["securityContext"].pop("runAsNonRoot"), _csc(runAsNonRoot=True)),
                        _csc(runAsNonRoot=False)),
    "run-as-user": (_both(_psc(runAsUser=1000), _csc(runAsUser=1001)), _csc(runAsUser=0)),
    "seccomp-restricted": (_both(lambda p: p["spec"]["securityContext"].pop("seccompProfile"),
                                 _csc(seccompProfile={"type": "RuntimeDefault"})),
                           lambda p: p["spec"]["securityContext"].pop("seccompProfile")),
    "capabilities-restricted": (_csc(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
                                _csc(capabilities={"drop": ["NET_RAW"]})),
}


def test_every_rule_has_a_case() -> None:
    assert set(PSS_CASES) == {r.id for r in pss.RULES}


@pytest.mark.parametrize("rule", pss.RULES, ids=lambda r: r.id)
def test_pss_rule(rule: pss.Rule) -> None:
    passing, failing = PSS_CASES[rule.id]
    good, bad = _pod(), _pod()
    passing(good)
    failing(bad)
    assert pss.evaluate(good, "restricted") == []
    broken = {r.id for r, _ in pss.evaluate(bad, rule.level)}
    assert broken == {rule.id}
    assert pss.evaluate(bad, "privileged") == []
    if rule.level == "restricted":
        assert pss.evaluate(bad, "baseline") == []  # baseline does not enforce it
    else:
        assert rule.id in {r.id for r, _ in pss.evaluate(bad, "restricted")}


def test_windows_pods_skip_linux_only_restricted_controls() -> None:
    pod = _pod()
    pod["spec"]["os"] = {"name": "windows"}
    pod["spec"]["securityContext"].pop("seccompProfile")
    pod["spec"]["containers"][0]["securityContext"] = {}
    assert pss.evaluate(pod, "restricted") == []


WORKLOADS = {
    "Pod": lambda t: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"}, "spec": t["spec"]},
    "Deployment": lambda t: {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
                             "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": t}},
    "StatefulSet": lambda t: {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "w"},
                              "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "w", "template": t}},
    "DaemonSet": lambda t: {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "w"},
                            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": t}},
    "ReplicaSet": lambda t: {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "w"},
                             "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": t}},
    "Job": lambda t: {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "w"}, "spec": {"template": t}},
    "CronJob": lambda t: {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "w"},
                          "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": t}}}},
}


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_every_pod_template_kind_is_admitted_by_its_namespace_level(kind: str) -> None:
    assert set(WORKLOADS) == set(pss.POD_TEMPLATE_PATHS)
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"hostNetwork": True, "restartPolicy": "OnFailure",
                                                               "containers": [{"name": "c", "image": "c:1"}]}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": pss_labels("baseline")}}
    obj = WORKLOADS[kind](template)
    found = check_objects("c1", "1.33", [Landing(ns, "program", "default"), Landing(obj, "program", "apps")])
    assert [(v.namespace, v.kind, v.rule) for v in found] == [("apps", kind, "pss-baseline:host-namespaces")], found
    # An unlabelled namespace gets the cluster default, privileged: nothing to enforce.
    assert check_objects("c1", "1.33", [_ns("elsewhere"), Landing(obj, "program", "elsewhere")]) == []
    assert check_objects("c1", "1.33", [Landing(obj, "program", "kube-system")]) == []


def test_schema_checks_use_the_cluster_version_and_the_clusters_crds() -> None:
    crd = copy.deepcopy(next(c for c in render.chart_crds(CHARTS / "velero") if c["spec"]["names"]["kind"] == "Schedule"))
    crd["spec"]["group"] = "example.org"  # only this cluster's CRD can validate it
    cr = {"apiVersion": "example.org/v1", "kind": "Schedule", "metadata": {"name": "s", "namespace": "x"},
          "spec": {"schedule": "@daily", "template": {}, "typo": 1}}
    found = check_objects("c1", "1.33", [_ns("x"), Landing(crd, "helm:v", ""), Landing(cr, "program", "x")])
    assert [(v.kind, v.rule) for v in found] == [("Schedule", "crd-schema")] and "'typo'" in found[0].detail
    orphan = {**cr, "apiVersion": "nothere.example.org/v1"}
    assert "no CRD schema" in check_objects("c1", "1.33", [_ns("x"), Landing(orphan, "program", "x")])[0].detail
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": "two"}}
    assert {v.rule for v in check_objects("c1", "1.33", [_ns("x"), Landing(bad, "program", "x")])} == {"schema"}


# ---- Helm values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("chart,values,unknown", [
    ("argo-cd", {"server": {"replicas": 2, "podAnnotations": {"any": "thing"},
                            "containerSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
                 "configs": {"params": {"server.insecure": True}}, "redis-ha": {"enabled": True, "haproxy": {"replicas": 2}},
                 "global": {"domain": "argocd.example.org"}}, []),
    ("argo-cd", {"server": {"replicaCount": 2}}, ["server.replicaCount"]),
    ("argo-cd", {"redis-ha": {"haproxy": {"replica": 2}}}, ["redis-ha.haproxy.replica"]),  # subchart defaults/templates
    ("argo-cd", {"global": {"domian": "x"}}, ["global.domian"]),
    ("gateway", {"resources": {"limits": {"cpu": "1"}}, "service": {"type": "ClusterIP"}}, []),
    ("gateway", {"podSecurityContext": {}}, ["podSecurityContext"]),  # schema: additionalProperties false
    ("istiod", {"pilot": {"env": {"PILOT_X": "1"}, "resources": {"requests": {"cpu": "1"}}}, "global": {"hub": "h"}}, []),
    # defaults under _internal_defaults_do_not_set; the chart merges `pilot` whole into the top level
    ("istiod", {"replicaCount": 2, "autoscaleEnabeld": False}, ["autoscaleEnabeld"]),
    ("velero", {"podSecurityContext": {"runAsNonRoot": True}, "configuration": {"features": "EnableCSI"}}, []),
    ("karpenter", {"settings": {"clusterName": "c", "clustername": "c"}}, ["settings.clustername"]),
], ids=["argo-ok", "argo-typo", "argo-subchart-typo", "argo-global-typo", "gateway-ok", "gateway-schema", "istiod-ok",
        "istiod-typo", "velero-ok", "karpenter-typo"])
def test_helm_values_paths(chart: str, values: dict[str, Any], unknown: list[str]) -> None:
    found = unknown_paths(values, chart_knowledge(CHARTS / chart))
    assert [f.split(" ")[0] for f in found] == unknown, found


def test_template_reads_open_maps_read_whole() -> None:
    reads = template_reads([
        ("", "{{ .Values.a.b }} {{ toYaml .Values.sc | nindent 2 }} {{ include \"h\" (dict \"c\" .Values.comp) }}"),
        ("sub", "{{ index .Values \"x-y\" \"z\" }} {{ .Values.global.g }}"),
    ])
    know = ChartKnowledge(defaults={"comp": {"name": "n"}, "sc": {"runAsUser": 1}}, schema=None, reads=reads)
    assert unknown_paths({"a": {"b": 1}, "sc": {"anything": 1}, "sub": {"x-y": {"z": 1}}, "global": {"g": 1}}, know) == []
    # a map handed to a helper stays closed where the defaults spell out its keys
    assert [p.split(" ")[0] for p in unknown_paths({"a": {"c": 1}, "comp": {"nmae": "x"}, "sub": {"q": 1}}, know)] == \
        ["a.c", "comp.nmae", "sub.q"]


def test_values_that_break_the_chart_schema_are_reported() -> None:
    from offline.admission.values import schema_errors

    assert schema_errors({"replicaCount": "three"}, CHARTS / "gateway")
    assert schema_errors({"replicaCount": 3}, CHARTS / "gateway") == []


def test_documents_split_the_way_helm_splits_them() -> None:
    """submariner-operator renders ``---apiVersion`` (no newline after the separator); Helm splits there."""
    objects = render.render_chart(CHARTS / "submariner-operator", {}, name="submariner", namespace="submariner-operator",
                                  kubernetes_version="1.33")
    assert not any(k.startswith("---") for o in objects for k in o)
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("ClusterRoleBinding", "submariner-submariner-operator") in names


def test_null_fields_count_as_unset() -> None:
    """Charts render ``key: null``; the API server treats it as unset, so must the checks."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": None}, "data": None}
    bsl = {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation", "metadata": {"name": "b", "namespace": "v"},
           "spec": {"provider": "aws", "objectStorage": {"bucket": "b"}, "credential": None}}
    assert check_objects("c1", "1.33", [_ns("v"), Landing(cm, "helm:x", "v"), Landing(bsl, "helm:x", "v")]) == []
    del bsl["spec"]["provider"]
    (v,) = check_objects("c1", "1.33", [_ns("v"), Landing(bsl, "helm:x", "v")])
    assert v.rule == "crd-schema" and "'provider' is a required property" in v.detail


def _ns(name: str, level: str | None = None) -> Landing:
    labels = {pss.ENFORCE_LABEL: level} if level else {}
    return Landing({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}, "program", "default")


def _cm(name: str, namespace: str | None, source: str) -> Landing:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Landing({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}, source, "from-release")


def test_objects_need_a_namespace_that_exists() -> None:
    found = check_objects("c1", "1.33", [_ns("apps"), _cm("a", "apps", "program"), _cm("b", "kube-system", "program"),
                                         _cm("c", None, "helm:r"), _cm("d", "nowhere", "program")])
    assert [(v.name, v.namespace, v.rule) for v in found] == [
        ("c", "from-release", "namespace-missing"), ("d", "nowhere", "namespace-missing")]
    # cluster-scoped objects need none, custom resources follow their CRD's scope
    crd = next(c for c in render.chart_crds(CHARTS / "karpenter") if c["spec"]["names"]["kind"] == "NodePool")
    pool = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "p"}, "spec": {"template": {"spec": {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "d"}, "requirements": []}}}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}, "rules": []}
    assert check_objects("c1", "1.33", [Landing(crd, "helm:k", "", chart_crd=True), Landing(pool, "program", "default"),
                                        Landing(role, "helm:k", "nowhere")]) == []


def test_release_namespace_must_exist(synthetic_plan: Plan, releases: list[render.RenderedRelease]) -> None:
    moved = [dataclasses.replace(releases[0], namespace="nowhere", objects=[])]
    found = [v for v in check_plan(synthetic_plan, moved) if v.kind == "HelmRelease"]
    assert ("nowhere", "namespace-missing") in {(v.namespace, v.rule) for v in found}


def test_two_sources_creating_one_object_conflict() -> None:
    items = [_ns("apps"), _cm("a", "apps", "program"), _cm("a", "apps", "helm:r"), _cm("b", "apps", "helm:r")]
    found = check_objects("c1", "1.33", items)
    assert [(v.name, v.rule, v.source, v.detail) for v in found] == [("a", "duplicate", "helm:r", "also created by program")]
    # Helm skips a crds/ folder CRD that exists already: two charts shipping one CRD is fine
    crd = render.chart_crds(CHARTS / "velero")[0]
    assert check_objects("c1", "1.33", [Landing(crd, "helm:a", "", chart_crd=True), Landing(crd, "helm:b", "", chart_crd=True)]) == []


def test_an_invalid_enforce_level_is_reported_and_read_as_restricted() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps"},
           "spec": {"containers": [{"name": "c", "image": "c:1"}]}}
    found = check_objects("c1", "1.33", [_ns("apps", "strict"), Landing(pod, "program", "apps")])
    rules = {v.rule for v in found}
    assert "pss-level" in rules and "pss-restricted:run-as-non-root" in rules


def test_crd_groups_ending_in_k8s_io_are_custom_resources() -> None:
    """A Gateway API kind (group gateway.networking.k8s.io) is checked against its CRD, not the OpenAPI."""
    crd = copy.deepcopy(next(c for c in render.chart_crds(CHARTS / "velero") if c["spec"]["names"]["kind"] == "Schedule"))
    crd["spec"]["group"] = "gateway.networking.k8s.io"
    crd["metadata"]["name"] = "schedules.gateway.networking.k8s.io"
    cr = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Schedule", "metadata": {"name": "s", "namespace": "x"},
          "spec": {"schedule": "@daily", "template": {}}}
    assert check_objects("c1", "1.33", [_ns("x"), Landing(crd, "helm:g", "", chart_crd=True), Landing(cr, "program", "x")]) == []


# ---- the real stacks (CI runs the admission check on both) ----------------------------------------

def test_every_cluster_of_the_real_stack_accepts_what_it_gets(plan: Plan) -> None:
    releases = render.render_plan(plan, CHARTS)
    assert len(releases) == len(render.release_records(plan))  # every release rendered
    violations = check_plan(plan, releases)
    assert violations == [], "\n".join(v.line() for v in violations)
