"""`idpkit rehearse`: the AWS host path of a stack, run for real on this machine.

The stack's own resource graph (captured under Pulumi's mocks) seeds an emulation of the AWS APIs
(moto in server mode: S3, Secrets Manager, KMS, STS, SSM) with the bucket keys, secret names and key
ids the program declares. Two hosts, each a network namespace with its own file tree, install the kit
from the wheelhouse the program stages and run `idpkit host up` exactly as the AWS hosts' user data does;
they cluster (jdbc-ping) on a PostgreSQL with TLS `verify-full`. The front door (the ALB emulation)
balances both, and the operator's commands (`realm apply`, `smoke`) run through the stack's outputs, the
signing key rotation from a host through STS. What differs from AWS is listed in docs/aws.md.
"""
