"""Case ids: the one convention that ties spec rows, KTAP, JUnit and the docs together.

A case id is the pytest node id relative to suites/, e.g.
``test_permissions.py::test_eperm[unprivileged-move]``. pytest's JUnit
writer splits it into a dotted classname (``suites.test_permissions``) and
a name; :func:`from_junit` and :func:`junit_names` go between the two.
"""

from __future__ import annotations

SUITES = "suites"


class CaseIdError(ValueError):
    """A JUnit record or id that does not follow the convention (one line)."""


def from_nodeid(nodeid: str) -> str:
    """The case id of a pytest node id, wherever pytest was started from."""
    prefix = f"{SUITES}/"
    marker = nodeid.find(prefix)
    if marker == 0 or (marker > 0 and nodeid[marker - 1] == "/"):
        return nodeid[marker + len(prefix):]
    return nodeid


def from_junit(classname: str, name: str) -> str:
    """pytest's classname "suites.test_moves.TestX" + name -> "test_moves.py::TestX::name"."""
    parts = classname.split(".")
    if parts and parts[0] == SUITES:
        parts = parts[1:]
    modules = [index for index, part in enumerate(parts) if part.startswith("test_")]
    if not modules:
        raise CaseIdError(f"testcase {name!r}: no test module in classname {classname!r}")
    module = modules[-1]
    path = "/".join(parts[: module + 1]) + ".py"
    return "::".join([path, *parts[module + 1:], name])


def junit_names(case_id: str) -> tuple[str, str]:
    """The (classname, name) pair :func:`from_junit` turns back into ``case_id``."""
    path, _, rest = case_id.partition("::")
    if not path.endswith(".py") or not rest:
        raise CaseIdError(f"case id {case_id!r} is not path.py::name")
    head, bracket, parameters = rest.partition("[")  # parameter ids may hold "::"
    *classes, name = head.split("::")
    name += bracket + parameters
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([SUITES, module, *classes]), name


def parameter_ids(case_id: str) -> tuple[str, ...]:
    """The ids pytest joined with "-" inside a case id's brackets, in order.

    ``test_geometry.py::test_g[int80-query-n1]`` -> ``("int80", "query", "n1")``;
    a case without parameters has none.
    """
    _, bracket, parameters = case_id.partition("[")
    if not bracket or not parameters.endswith("]"):
        return ()
    return tuple(parameters.removesuffix("]").split("-"))
