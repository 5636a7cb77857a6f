"""Pulumi components of the idpkit AWS deployment: one ComponentResource per module."""
