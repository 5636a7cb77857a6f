"""nginx and its njs module for the AWS hosts: pinned here, staged and verified like the Keycloak archive.

The host-local proxy (`host_proxy.render_http_block`) needs nginx's njs module. Amazon Linux 2023's
own repositories ship nginx but no njs module, so the hosts install nginx.org's Amazon Linux 2023 build
of both (https://nginx.org/packages/amzn/2023/, the stable branch). `pulumi up` downloads the pinned
RPMs over HTTPS into the stack's artifacts bucket (components/artifacts.py), and each host downloads them
through the S3 gateway endpoint and checks `sha256sum --check --strict` before `dnf install` (dnf
resolves their dependencies — openssl, pcre2, zlib — from the Amazon Linux repositories).

Upgrading: change NGINX_VERSION / NJS_VERSION together (nginx.org builds each njs package against one
nginx release), then set every `sha256` from the repository metadata
(`<arch>/repodata/*-primary.xml.gz`, `<checksum type="sha256">`) or from `sha256sum` of the downloaded
RPMs. A host refuses a package whose hash does not match, so a wrong or missing pin fails closed: the
instance never turns healthy and the instance refresh stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

REPOSITORY = "https://nginx.org/packages/amzn/2023"
NGINX_VERSION = "1.30.0"
NJS_VERSION = "0.9.7"
PACKAGE_RELEASE = "1"
# EC2 architecture names (`uname -m`) by the AMI parameter's suffix (idpkit:amiParameter).
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Where nginx.org's RPM installs the njs HTTP module (`load_module` in the host's nginx.conf).
NJS_MODULE_PATH = "/usr/lib64/nginx/modules/ngx_http_js_module.so"
# Marks a pin nobody has filled in yet; hosts reject it (see the module docstring).
UNPINNED = "0" * 64
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HostPackage:
    """One RPM from nginx.org's Amazon Linux 2023 repository."""

    name: str
    """Package name, e.g. `nginx-module-njs`."""
    version: str
    """RPM version, e.g. `1.30.0` or `1.30.0+0.9.7`."""
    architecture: str
    """`x86_64` or `aarch64`."""
    sha256: str
    """SHA-256 of the RPM file, lower-case hex."""

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"{self.file_name}: sha256 must be 64 lower-case hex digits")

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}-{PACKAGE_RELEASE}.amzn2023.ngx.{self.architecture}.rpm"

    @property
    def url(self) -> str:
        """Download URL ('+' in the njs version percent-encoded)."""
        return f"{REPOSITORY}/{self.architecture}/RPMS/{quote(self.file_name)}"

    @property
    def object_key(self) -> str:
        """Key in the artifacts bucket (no '+', which some S3 clients read as a space)."""
        return f"nginx/{self.architecture}/{self.file_name.replace('+', '_')}"

    @property
    def pinned(self) -> bool:
        return self.sha256 != UNPINNED


PACKAGES: tuple[HostPackage, ...] = (
    # TODO(lead): fill in the four hashes (module docstring); until then hosts refuse the packages.
    HostPackage("nginx", NGINX_VERSION, "x86_64", UNPINNED),
    HostPackage("nginx-module-njs", f"{NGINX_VERSION}+{NJS_VERSION}", "x86_64", UNPINNED),
    HostPackage("nginx", NGINX_VERSION, "aarch64", UNPINNED),
    HostPackage("nginx-module-njs", f"{NGINX_VERSION}+{NJS_VERSION}", "aarch64", UNPINNED),
)


def architecture_of(ami_parameter: str) -> str:
    """The `uname -m` architecture of an Amazon Linux 2023 AMI parameter (`...-x86_64` / `...-arm64`)."""
    suffix = ami_parameter.rsplit("-", 1)[-1]
    if suffix not in ARCHITECTURES:
        raise ValueError(f"{ami_parameter}: not an x86_64 or arm64 Amazon Linux 2023 AMI parameter")
    return ARCHITECTURES[suffix]


def packages_for(architecture: str) -> tuple[HostPackage, ...]:
    """The RPMs a host of `architecture` installs, nginx first."""
    found = tuple(package for package in PACKAGES if package.architecture == architecture)
    if not found:
        raise ValueError(f"{architecture}: no nginx packages are pinned for this architecture")
    return found
