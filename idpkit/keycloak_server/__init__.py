"""What the local stack and the AWS hosts share about the Keycloak server: its release and its options."""
