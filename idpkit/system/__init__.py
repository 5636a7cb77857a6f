"""Operating-system helpers shared by the local stack, the AWS host commands, realm secrets and signing keys:
files with least permissions, supervised server processes, the unprivileged service account, a Java runtime."""
