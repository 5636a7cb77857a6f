"""A corpus of malformed and insecure realm-config inputs, generated from the kit's catalogues: every named
list with a duplicate, every reference kind left dangling, every file broken (encoding, YAML, shape),
every rule violated. Each is refused naming file, path and reason, and an apply fed it makes zero
writes on the real Keycloak (counted by the admin client), leaving the realm as it was."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from idpkit import paths
from idpkit.keycloak_admin import urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine, references
from idpkit.realm.loader import JAVA_INT_MAX, LIST_KEYS, ConfigError, item_name, item_path
from tests.realm.helpers import edit, run_realm, scratch_project
from tests.realm.test_validation import NAMED_FILE, VIOLATIONS

Edit = Callable[[Path], None]
STACK = "local"


class Case:
    """One bad input: how to make it from a copy of realm-config/, and the refusal it must get."""

    def __init__(self, environment: str, make: Edit, file: str, path: str | None, rule: str) -> None:
        self.environment, self.make, self.file, self.path, self.rule = environment, make, file, path, rule


def _shipped_files() -> list[str]:
    root = paths.project_root() / "realm-config"
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*.yaml"))


def _environment_of(file: str) -> str:
    return Path(file).stem if file.startswith("overlays/") else "local"


def _yaml_edit(file: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    return lambda project: edit(project, file, change)


# --- every named list x duplicate -------------------------------------------------------------------


def _named_lists() -> dict[str, tuple[str, tuple[Any, ...], str]]:
    """List key -> (file, locator, path) of its first occurrence with a named item in the shipped files."""
    found: dict[str, tuple[str, tuple[Any, ...], str]] = {}
    root = paths.project_root() / "realm-config"

    def walk(node: Any, file: str, locator: tuple[Any, ...], path: str) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key in LIST_KEYS and isinstance(value, list):
                for index, item in enumerate(value):
                    name = item_name(key, item)
                    if name is not None:
                        found.setdefault(key, (file, (*locator, key), here))
                        walk(item, file, (*locator, key, index), item_path(here, name))
            else:
                walk(value, file, (*locator, key), here)

    for file in _shipped_files():
        walk(yaml.safe_load((root / file).read_text()), file, (), "")
    return found


def _duplicate_first(locator: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for key in locator:
            node = node[key]
        node.append(dict(node[0]))

    return change


def _duplicate_cases() -> Iterator[Any]:
    lists = _named_lists()
    for key in LIST_KEYS:
        assert key in lists, f"no shipped file has a named {key} list to duplicate: extend the corpus"
        file, locator, path = lists[key]
        data = yaml.safe_load((paths.project_root() / "realm-config" / file).read_text())
        first: Any = data
        for part in locator:
            first = first[part]
        name = item_name(key, first[0])
        case = Case(
            _environment_of(file),
            _yaml_edit(file, _duplicate_first(locator)),
            file,
            item_path(path, str(name)),
            "DUPLICATE",
        )
        yield pytest.param(case, id=f"duplicate-{key}")
    copied = Case("prod", _client_in_second_base_file, "base/more-clients.yaml", "clients[phi-api]", "DUPLICATE")
    yield pytest.param(copied, id="duplicate-across-base-files")
    scopes = _yaml_edit("base/clients.yaml", lambda d: d["clients"][1]["defaultClientScopes"].append("basic"))
    yield pytest.param(
        Case("prod", scopes, "base/clients.yaml", "clients[phi-patient-app].defaultClientScopes", "DUPLICATE"),
        id="duplicate-in-a-name-list",
    )


def _client_in_second_base_file(project: Path) -> None:
    clients = yaml.safe_load((project / "realm-config" / "base" / "clients.yaml").read_text())["clients"]
    (project / "realm-config" / "base" / "more-clients.yaml").write_text(yaml.safe_dump({"clients": clients[:1]}))


# --- every reference kind x dangling --------------------------------------------------------------------


def _client(data: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in data["clients"] if c["clientId"] == client_id)


def _user(data: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return next(u for u in data["users"] if u.get(key) == value)


def _first_link(data: dict[str, Any]) -> dict[str, Any]:
    link: dict[str, Any] = _user(data, "username", "smoke-clinician")["federatedIdentities"][0]
    return link


# reference kind -> (environment, file, edit, path the refusal names)
DANGLING: dict[str, tuple[str, str, Callable[[dict[str, Any]], None], str]] = {
    "realm default scope": (
        "prod", "base/realm.yaml", lambda d: d["realm"]["defaultDefaultClientScopes"].append("nope"),
        "realm.defaultDefaultClientScopes",
    ),
    "client scope of a client": (
        "prod", "base/clients.yaml", lambda d: _client(d, "phi-patient-app")["optionalClientScopes"].append("nope"),
        "clients[phi-patient-app].optionalClientScopes",
    ),
    "client scope of a scope mapping": (
        "prod", "base/scopes.yaml", lambda d: d["scopeMappings"].append({"clientScope": "nope", "roles": []}),
        "scopeMappings[nope].clientScope",
    ),
    "role of a scope mapping": (
        "prod", "base/scopes.yaml", lambda d: d["scopeMappings"][0]["roles"].append("nope"),
        "scopeMappings[patient/Patient.rs].roles",
    ),
    "role of a user": (
        "local", "fragments/smoke.yaml", lambda d: _user(d, "username", "smoke-clinician")["realmRoles"].append("nope"),
        "users[smoke-clinician].realmRoles",
    ),
    "user-profile attribute of a user": (
        "local", "fragments/smoke.yaml",
        lambda d: _user(d, "username", "smoke-clinician").setdefault("attributes", {}).__setitem__("nope", ["x"]),
        "users[smoke-clinician].attributes",
    ),
    "client of a service account": (
        "prod", "base/service-accounts.yaml",
        lambda d: _user(d, "serviceAccountClientId", "phi-backend").__setitem__("serviceAccountClientId", "nope"),
        "users[service-account-nope].serviceAccountClientId",
    ),
    "identity provider of a link": (
        "local", "fragments/smoke.yaml",
        lambda d: _first_link(d).__setitem__("identityProvider", "nope"),
        "users[smoke-clinician].federatedIdentities[nope].identityProvider",
    ),
    "identity provider of a JWT grant client": (
        "prod", "base/clients.yaml",
        lambda d: _client(d, "phi-partner-exchange")["attributes"].__setitem__(references.JWT_GRANT_IDP, "nope"),
        'clients[phi-partner-exchange].attributes["oauth2.jwt.authorization.grant.idp"]',
    ),
    "client of a generated public key": (
        "local", "fragments/smoke.yaml",
        lambda d: d["identityProviders"][0]["config"].__setitem__(
            "publicKeySignatureVerifier", f"{references.GENERATED_PUBLIC_KEY}nope"
        ),
        'identityProviders[smoke-assertions].config["publicKeySignatureVerifier"]',
    ),
    "profile of a client policy": (
        "prod", "base/client-policies.yaml", lambda d: d["clientPolicies"][0]["profiles"].append("nope"),
        "clientPolicies[idpkit-phi-all-clients].profiles",
    ),
    "executor of a client profile": (
        "prod", "base/client-policies.yaml",
        lambda d: d["clientProfiles"][0]["executors"].append({"executor": "nope", "configuration": {}}),
        "clientProfiles[idpkit-phi-baseline].executors",
    ),
    "condition of a client policy": (
        "prod", "base/client-policies.yaml",
        lambda d: d["clientPolicies"][0]["conditions"].append({"condition": "nope", "configuration": {}}),
        "clientPolicies[idpkit-phi-all-clients].conditions",
    ),
}  # fmt: skip


def _dangling_cases() -> Iterator[Any]:
    for kind, (environment, file, change, path) in DANGLING.items():
        yield pytest.param(Case(environment, _yaml_edit(file, change), file, path, "REFERENCE"), id=f"dangling-{kind}")


# --- every file x bad encoding, bad YAML, wrong shape ---------------------------------------------------


def _repeat_first_key(text: bytes) -> bytes:
    first = next(iter(yaml.safe_load(text)))
    return text + f"\n{first}: {{}}\n".encode()


BREAKAGES: dict[str, Callable[[bytes], bytes]] = {
    "latin-1": lambda text: text + "# Patient caf\xe9\n".encode("latin-1"),
    "bad-yaml": lambda text: text + b"\nclients: [unclosed\n",
    "not-a-mapping": lambda _text: b"- just\n- a list\n",
    "duplicate-key": _repeat_first_key,
}


def _broken(file: str, breakage: Callable[[bytes], bytes]) -> Edit:
    def make(project: Path) -> None:
        target = project / "realm-config" / file
        target.write_bytes(breakage(target.read_bytes()))

    return make


def _file_cases() -> Iterator[Any]:
    for file in _shipped_files():
        for name, breakage in BREAKAGES.items():
            case = Case(_environment_of(file), _broken(file, breakage), file, None, "SCHEMA")
            yield pytest.param(case, id=f"{name}-{file}")


# --- every free-form setting and include x a value of the wrong shape -------------------------------------

WRONG_SHAPES: dict[str, Any] = {"mapping": {"name": None}, "null": None, "list-of-mappings": [{}], "number": 1.5}

POLICIES_FILE = "base/client-policies.yaml"
# Free-form settings: executor and condition configurations (Keycloak reads scalars and lists of strings only).
Locate = Callable[[dict[str, Any]], dict[str, Any]]
SETTINGS: dict[str, tuple[Locate, str, str]] = {
    "executor": (
        lambda d: d["clientProfiles"][0]["executors"][3]["configuration"], "allow-ipv4-loopback-address",
        "clientProfiles[idpkit-phi-baseline].executors[3].configuration",
    ),
    "condition": (
        lambda d: d["clientPolicies"][1]["conditions"][0]["configuration"], "grant_types",
        "clientPolicies[idpkit-phi-machine-clients].conditions[0].configuration",
    ),
}  # fmt: skip

# List options given one value: Keycloak reads a list there, so the rule needing the option refuses it.
SCALAR_LISTS: dict[str, tuple[Locate, str, str]] = {
    "allowed-client-authenticators": (
        lambda d: d["clientProfiles"][0]["executors"][4]["configuration"],
        "REALM-CLIENTAUTH-001", "clientProfiles",
    ),
    "grant_types": (
        lambda d: d["clientPolicies"][1]["conditions"][0]["configuration"],
        "REALM-HOK-001", "clientPolicies",
    ),
}  # fmt: skip

# Fragment names an overlay may not include: anything but a plain YAML file name inside fragments/.
BAD_INCLUDES = ("../base/realm.yaml", "/etc/passwd", ".hidden.yaml", "smo\x00ke.yaml", "smoke.json", "sub/smoke.yaml")


def _leaves(kind: Callable[[Any], bool]) -> Iterator[tuple[str, tuple[Any, ...], str]]:
    """(file, locator, path) of every value of `kind` the shipped files set in their mappings."""
    root = paths.project_root() / "realm-config"

    def walk(node: Any, file: str, locator: tuple[Any, ...], path: str) -> Iterator[tuple[str, tuple[Any, ...], str]]:
        if kind(node):
            yield file, locator, path
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, file, (*locator, key), f"{path}.{key}" if path else key)

    for file in _shipped_files():
        yield from walk(yaml.safe_load((root / file).read_text()), file, (), "")


def _set_at(locator: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in locator[:-1]:
            node = node[key]
        node[locator[-1]] = value

    return change


def _set_option(locate: Locate, option: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        configuration = locate(data)
        assert option in configuration, f"realm-config no longer sets {option} where the corpus expects it"
        configuration[option] = value

    return change


def _including(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.__setitem__("includes", [name])


def _shape_cases() -> Iterator[Any]:
    for kind, (locate, option, configuration) in SETTINGS.items():
        for shape, value in WRONG_SHAPES.items():
            change = _yaml_edit(POLICIES_FILE, _set_option(locate, option, value))
            case = Case("prod", change, POLICIES_FILE, f"{configuration}.{option}", "SCHEMA")
            yield pytest.param(case, id=f"{kind}-setting-{shape}")
    for file, locator, path in _leaves(lambda v: isinstance(v, int) and not isinstance(v, bool)):
        change = _yaml_edit(file, _set_at(locator, JAVA_INT_MAX + 1))
        yield pytest.param(Case(_environment_of(file), change, file, path, "SCHEMA"), id=f"too-large-{path}")
    for file, locator, path in _leaves(lambda v: isinstance(v, str)):
        change = _yaml_edit(file, _set_at(locator, "nul\x00byte"))
        yield pytest.param(Case(_environment_of(file), change, file, path, "SCHEMA"), id=f"nul-{file}-{path}")
    for option, (locate, rule_id, path) in SCALAR_LISTS.items():
        for shape, value in {"one-string": "client-jwt", "boolean": True}.items():
            change = _yaml_edit(POLICIES_FILE, _set_option(locate, option, value))
            yield pytest.param(Case("prod", change, POLICIES_FILE, path, rule_id), id=f"{option}-{shape}")
    for index, name in enumerate(BAD_INCLUDES):
        change = _yaml_edit("overlays/local.yaml", _including(name))
        yield pytest.param(Case("local", change, "overlays/local.yaml", "includes[0]", "SCHEMA"), id=f"include-{index}")


# --- every rule x violation ---------------------------------------------------------------------------------


def _rule_cases() -> Iterator[Any]:
    for rule_id, (environment, file, change, path) in VIOLATIONS.items():
        make = _yaml_edit(file, change)
        if rule_id == "REALM-OVERLAY-001":  # the baseline tightened first, so the overlay's value loosens it
            make = _both(_yaml_edit("base/realm.yaml", lambda d: d["realm"].__setitem__("failureFactor", 3)), make)
        named = NAMED_FILE.get(rule_id, file)
        yield pytest.param(Case(environment, make, named, path, rule_id), id=rule_id)


def _both(first: Edit, second: Edit) -> Edit:
    def make(project: Path) -> None:
        first(project)
        second(project)

    return make


CASES = [*_duplicate_cases(), *_dangling_cases(), *_file_cases(), *_shape_cases(), *_rule_cases()]


def test_every_reference_kind_has_a_dangling_case() -> None:
    assert set(DANGLING) == set(references.KINDS), "each reference kind needs exactly one dangling case"


def _refusal(project: Path, case: Case) -> ConfigError:
    os.environ["IDPKIT_PROJECT_DIR"] = str(project)
    try:
        with pytest.raises(ConfigError) as caught:
            engine.validate(case.environment)
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
    return caught.value


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_naming_file_path_and_reason(case: Case, tmp_path: Path) -> None:
    case.make(scratch_project(tmp_path))
    problems = _refusal(tmp_path, case).problems
    matching = [
        p
        for p in problems
        if p.rule == case.rule and p.file == f"realm-config/{case.file}" and case.path in (None, p.path) and p.message
    ]
    assert matching, (
        f"expected [{case.rule}] at realm-config/{case.file}: {case.path}, got {[str(p) for p in problems]}"
    )


# --- on the real Keycloak: zero writes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def session(applied_realm: StackOutputs) -> Iterator[engine.Session]:
    opened = engine.Session.open(applied_realm)
    assert not engine.plan(opened, STACK, STACK).changes, "the realm must start in sync"
    yield opened
    assert not engine.plan(opened, STACK, STACK).changes, "a refused apply changed the realm"


@pytest.mark.local_stack
@pytest.mark.parametrize("case", CASES)
def test_apply_fed_bad_input_makes_zero_writes(case: Case, session: engine.Session, tmp_path: Path) -> None:
    case.make(scratch_project(tmp_path))
    before = session.realm.writes.total
    os.environ["IDPKIT_PROJECT_DIR"] = str(tmp_path)
    try:
        with pytest.raises(ConfigError):
            engine.apply(session, case.environment, STACK)
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
    assert session.realm.writes.total == before, (
        f"apply fed {case.file} ({case.rule}) made {session.realm.writes.total - before} write(s)"
    )


@pytest.mark.local_stack
def test_scope_missing_from_the_live_realm_is_refused_before_any_write(session: engine.Session, tmp_path: Path) -> None:
    """Offline validation trusts Keycloak's built-in scopes; the plan checks they really exist."""
    scope = "microprofile-jwt"
    edit(scratch_project(tmp_path), "base/clients.yaml",
         lambda d: _client(d, "phi-clinician-web")["optionalClientScopes"].append(scope))  # fmt: skip
    api = session.realm
    found = [s for s in api.get(api.path(urls.CLIENT_SCOPES)) if s["name"] == scope]
    if found:
        api.delete(api.path(urls.CLIENT_SCOPE, id=found[0]["id"]))
    before = api.writes.total
    os.environ["IDPKIT_PROJECT_DIR"] = str(tmp_path)
    try:
        with pytest.raises(ConfigError) as caught:
            engine.apply(session, STACK, STACK)
    finally:
        os.environ.pop("IDPKIT_PROJECT_DIR")
    assert api.writes.total == before, f"apply made {api.writes.total - before} write(s) before refusing"
    assert any(scope in str(p) and p.rule == "REFERENCE" for p in caught.value.problems), str(caught.value)


def test_non_utf8_file_is_refused_by_the_command_without_a_traceback(tmp_path: Path) -> None:
    _broken("base/realm.yaml", BREAKAGES["latin-1"])(scratch_project(tmp_path))
    completed = run_realm("validate", "--env", "prod", project=tmp_path)
    assert completed.returncode == 1, f"validate exited {completed.returncode}: {completed.stderr}"
    assert "realm-config/base/realm.yaml" in completed.stderr and "UTF-8" in completed.stderr, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
