"""S3 bucket policies with an `aws:SecureTransport` condition, evaluated as AWS would for an SDK client.

WHY: moto evaluates bucket policies without their conditions, so the workflow bucket's TLS-only policy
("Deny s3:* when aws:SecureTransport is false") denies every request, secure or not. The embedded endpoint
speaks plain HTTP on the loopback interface, standing in for AWS's TLS endpoints, so requests count as
secure: a statement conditioned on `aws:SecureTransport` applies only when its expected value is "true".
Statements with other conditions keep moto's behaviour. The deployed policy stays exactly as on AWS.
TOUCHES: moto.s3.models.FakeBucket.get_permission (wrapped; only while an embedded AWS is running).
"""

from __future__ import annotations

import json

from .state import STATE

SECURE_TRANSPORT = "aws:securetransport"


def _applies_over_tls(statement: dict) -> bool:
    condition = statement.get("Condition") or {}
    for operator, values in condition.items():
        for key, expected in values.items():
            if key.lower() == SECURE_TRANSPORT and operator.lower().startswith("bool"):
                wanted = expected if isinstance(expected, list) else [expected]
                if "true" not in [str(v).lower() for v in wanted]:
                    return False
    return True


def policy_over_tls(policy: bytes) -> bytes:
    document = json.loads(policy.decode())
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    document["Statement"] = [s for s in statements if _applies_over_tls(s)]
    return json.dumps(document).encode()


def install() -> None:
    from moto.s3.models import FakeBucket

    original = getattr(FakeBucket.get_permission, "_embedded_original", FakeBucket.get_permission)

    def get_permission(self, action, resource):
        if not STATE.active or self.policy is None:
            return original(self, action, resource)
        saved = self.policy
        try:
            self.policy = policy_over_tls(saved)
            return original(self, action, resource)
        finally:
            self.policy = saved

    get_permission._embedded_original = original
    FakeBucket.get_permission = get_permission
