"""The built-in resource types the sandbox serves, with loose structural schemas.

Built-ins are stored as given. Their schemas name only the top-level fields of each kind, with
everything below left open (``x-kubernetes-preserve-unknown-fields``), which is enough for
``fieldValidation=Strict`` to reject a misspelt top-level field the way the real decoder does,
and for the OpenAPI documents kubectl reads.
"""

from __future__ import annotations

from .registry import PrinterColumn, ResourceType, Schema, VersionInfo

OPEN: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
OPEN_LIST: Schema = {"type": "array", "items": OPEN}


def _schema(**fields: Schema) -> Schema:
    return {"type": "object", "properties": fields}


def _type(
    group: str,
    version: str,
    plural: str,
    kind: str,
    schema: Schema,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = False,
    columns: tuple[PrinterColumn, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group=group,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        versions=(VersionInfo(version, schema, columns, has_status=status),),
        short_names=short,
        categories=categories,
    )


_SPEC_STATUS = _schema(spec=OPEN, status=OPEN)
_CORE_EVENT = _schema(
    involvedObject=OPEN,
    reason={"type": "string"},
    message={"type": "string"},
    source=OPEN,
    firstTimestamp={"type": "string"},
    lastTimestamp={"type": "string"},
    count={"type": "integer"},
    type={"type": "string"},
    eventTime={"type": "string"},
    series=OPEN,
    action={"type": "string"},
    related=OPEN,
    reportingComponent={"type": "string"},
    reportingInstance={"type": "string"},
)
_EVENTS_V1_EVENT = _schema(
    eventTime={"type": "string"},
    series=OPEN,
    reportingController={"type": "string"},
    reportingInstance={"type": "string"},
    action={"type": "string"},
    reason={"type": "string"},
    regarding=OPEN,
    related=OPEN,
    note={"type": "string"},
    type={"type": "string"},
    deprecatedSource=OPEN,
    deprecatedFirstTimestamp={"type": "string"},
    deprecatedLastTimestamp={"type": "string"},
    deprecatedCount={"type": "integer"},
)
_RULES = _schema(rules=OPEN_LIST, aggregationRule=OPEN)
_BINDING = _schema(subjects=OPEN_LIST, roleRef=OPEN)
_RBAC = "rbac.authorization.k8s.io"
_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")


def builtin_types() -> list[ResourceType]:
    """A fresh list of every built-in type, in discovery order."""
    return [
        _type(
            "",
            "v1",
            "namespaces",
            "Namespace",
            _SPEC_STATUS,
            namespaced=False,
            short=("ns",),
            status=True,
            columns=(PrinterColumn("Status", "string", ".status.phase"), _AGE),
        ),
        _type(
            "",
            "v1",
            "configmaps",
            "ConfigMap",
            _schema(data=STRING_MAP, binaryData=STRING_MAP, immutable={"type": "boolean"}),
            short=("cm",),
        ),
        _type(
            "",
            "v1",
            "secrets",
            "Secret",
            _schema(
                data=STRING_MAP,
                stringData=STRING_MAP,
                type={"type": "string"},
                immutable={"type": "boolean"},
            ),
            columns=(PrinterColumn("Type", "string", ".type"), _AGE),
        ),
        _type(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            _schema(
                secrets=OPEN_LIST,
                imagePullSecrets=OPEN_LIST,
                automountServiceAccountToken={"type": "boolean"},
            ),
            short=("sa",),
        ),
        _type("", "v1", "events", "Event", _CORE_EVENT, short=("ev",)),
        _type(
            "",
            "v1",
            "services",
            "Service",
            _SPEC_STATUS,
            short=("svc",),
            status=True,
            categories=("all",),
        ),
        _type(
            "", "v1", "pods", "Pod", _SPEC_STATUS, short=("po",), status=True, categories=("all",)
        ),
        _type("events.k8s.io", "v1", "events", "Event", _EVENTS_V1_EVENT, short=("ev",)),
        _type("coordination.k8s.io", "v1", "leases", "Lease", _schema(spec=OPEN)),
        _type(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            _SPEC_STATUS,
            short=("deploy",),
            status=True,
            categories=("all",),
        ),
        _type(_RBAC, "v1", "roles", "Role", _RULES),
        _type(_RBAC, "v1", "rolebindings", "RoleBinding", _BINDING),
        _type(_RBAC, "v1", "clusterroles", "ClusterRole", _RULES, namespaced=False),
        _type(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", _BINDING, namespaced=False),
        _type(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            _SPEC_STATUS,
            namespaced=False,
            short=("crd", "crds"),
            status=True,
            columns=(PrinterColumn("Created At", "string", ".metadata.creationTimestamp"),),
        ),
    ]
