"""The pinned Keycloak server distribution, in one place for the local stack and the AWS hosts.

Bumping Keycloak: change `VERSION` and `SHA512` together; the SHA-512 is Maven Central's
`keycloak-quarkus-dist-<VERSION>.tar.gz.sha512`, checked against a download before it is pinned.
"""

from __future__ import annotations

GROUP_ID = "org.keycloak"
ARTIFACT_ID = "keycloak-quarkus-dist"
VERSION = "26.7.3"
PACKAGING = "tar.gz"
SHA512 = (
    "664c8ac2997d94b69825af70acc3a6017a7a53a1504a6e21b2d82a04e5f53593"
    "b30cabdf80ffe3eb661f13442a57fbc15c4186a1899f2841e8145532e5ae7e1c"
)
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"

ARCHIVE_NAME = f"{ARTIFACT_ID}-{VERSION}.{PACKAGING}"
DOWNLOAD_URL = f"{MAVEN_CENTRAL}/{GROUP_ID.replace('.', '/')}/{ARTIFACT_ID}/{VERSION}/{ARCHIVE_NAME}"
MAVEN_COORDINATES = f"{GROUP_ID}:{ARTIFACT_ID}:{VERSION}:{PACKAGING}"
# The archive unpacks to this single top-level directory.
DIST_DIRECTORY = f"keycloak-{VERSION}"
