"""The CiN census XML for one year, as the authority would have submitted it that year.

A child is in year Y's census when any of their CIN episodes (referral to closure) overlaps
1 April to 31 March. Each CINdetails shows what was known on the reference date and only the
activity the census collects for the year: assessments completed in the year (or still open),
S47 enquiries and plans open at some point in the year, conferences and reviews held in it.
Elements follow the ``xs:sequence`` order of data-formats.md section 1.2.

The file is built as a light tree of ``[tag, text-or-children]`` lists so that the error
planter can change it before it is serialised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from framework.demo.dates import age_on, iso, year_end, year_start
from framework.demo.geography import LA_NUMBER
from framework.demo.model import Child, Referral

Node = list  # [tag, str] or [tag, list[Node]]
GENDER_CURRENT = {"M": "1", "F": "2", "U": "0"}


def uses_sex(end_year: int, shape: str) -> bool:
    """``<Sex>`` from 2024-25 (``auto``), or one shape forced for every year."""
    if shape == "sex":
        return True
    if shape == "gender":
        return False
    return end_year >= 2025


def build_children(children: list[Child], end_year: int, shape: str) -> list[Node]:
    """One ``Child`` node per child in the year's census, in child id order."""
    return list(iter_children(children, end_year, shape))


def child_node(child: Child, end_year: int, shape: str) -> Node | None:
    start, ref = year_start(end_year), year_end(end_year)
    episodes = [
        r for r in child.referrals if r.date <= ref and (r.closure is None or r.closure >= start)
    ]
    if not episodes:
        return None
    return [
        "Child",
        [
            ["ChildIdentifiers", _identifiers(child, end_year, shape)],
            ["ChildCharacteristics", _characteristics(child, ref)],
            *(["CINdetails", _details(r, start, ref)] for r in episodes),
        ],
    ]


def _identifiers(child: Child, end_year: int, shape: str) -> list[Node]:
    ref = year_end(end_year)
    unborn = child.dob > ref
    nodes: list[Node] = [["LAchildID", child.child_id]]
    age = age_on(child.dob, ref)
    if child.unaccompanied:
        nodes.append(["UPNunknown", "UN2"])
    elif not unborn and age >= 5:
        nodes.append(["UPN", child.upn])
    else:
        nodes.append(["UPNunknown", "UN1"])
    if unborn:
        nodes.append(["ExpectedPersonBirthDate", iso(child.expected_dob or child.dob)])
    else:
        nodes.append(["PersonBirthDate", iso(child.dob)])
    sex = "U" if unborn else child.sex
    if uses_sex(end_year, shape):
        nodes.append(["Sex", sex])
    else:
        nodes.append(["GenderCurrent", GENDER_CURRENT[sex]])
    if child.died is not None and child.died <= ref:
        nodes.append(["PersonDeathDate", iso(child.died)])
    return nodes


def _characteristics(child: Child, ref: int) -> list[Node]:
    nodes: list[Node] = [["Ethnicity", child.ethnicity]]
    if child.disabilities and child.dob <= ref:
        nodes.append(["Disabilities", [["Disability", code] for code in child.disabilities]])
    return nodes


def _details(referral: Referral, start: int, ref: int) -> list[Node]:
    closed = referral.closure is not None and referral.closure <= ref
    nodes: list[Node] = [
        ["CINreferralDate", iso(referral.date)],
        ["ReferralSource", referral.source],
    ]
    if referral.need:
        nodes.append(["PrimaryNeedCode", referral.need])
    if closed:
        nodes.append(["CINclosureDate", iso(referral.closure)])
        nodes.append(["ReasonForClosure", referral.closure_reason])
    if referral.transfer_icpc is not None and start <= referral.transfer_icpc <= ref:
        nodes.append(["DateOfInitialCPC", iso(referral.transfer_icpc)])
    for assessment in referral.assessments:
        done = assessment.authorised <= ref
        if (done and assessment.authorised < start) or assessment.start > ref:
            continue
        block: list[Node] = [["AssessmentActualStartDate", iso(assessment.start)]]
        if done:
            block.append(["AssessmentAuthorisationDate", iso(assessment.authorised)])
            factors = [["AssessmentFactors", code] for code in assessment.factors]
            block.append(["FactorsIdentifiedAtAssessment", factors])
        nodes.append(["Assessments", block])
    for plan in referral.cin_plans:
        if plan.start > ref or (plan.end is not None and plan.end < start):
            continue
        block = [["CINPlanStartDate", iso(plan.start)]]
        if plan.end is not None and plan.end <= ref:
            block.append(["CINPlanEndDate", iso(plan.end)])
        nodes.append(["CINPlanDates", block])
    for enquiry in referral.section47s:
        if enquiry.start > ref or enquiry.concluded < start:
            continue
        block = [
            ["S47ActualStartDate", iso(enquiry.start)],
            ["InitialCPCtarget", iso(enquiry.target)],
        ]
        held = enquiry.icpc is not None and enquiry.icpc <= ref
        if held:
            block.append(["DateOfInitialCPC", iso(enquiry.icpc)])
        not_required = enquiry.icpc is None and enquiry.concluded <= ref
        block.append(["ICPCnotRequired", "true" if not_required else "false"])
        nodes.append(["Section47", block])
    nodes.append(["ReferralNFA", "true" if referral.nfa else "false"])
    for plan in referral.cp_plans:
        if plan.start > ref or (plan.end is not None and plan.end < start):
            continue
        block = [["CPPstartDate", iso(plan.start)]]
        if plan.end is not None and plan.end <= ref:
            block.append(["CPPendDate", iso(plan.end)])
        changed = plan.category_changed is not None and plan.category_changed <= ref
        block += [
            ["InitialCategoryOfAbuse", plan.initial_category],
            ["LatestCategoryOfAbuse", plan.latest_category if changed else plan.initial_category],
            ["NumberOfPreviousCPP", str(plan.previous_plans)],
        ]
        reviews = [["CPPreviewDate", iso(r)] for r in plan.reviews if start <= r <= ref]
        if reviews:
            block.append(["Reviews", reviews])
        nodes.append(["ChildProtectionPlans", block])
    return nodes


def header(end_year: int) -> Node:
    return [
        "Header",
        [
            [
                "CollectionDetails",
                [
                    ["Collection", "CIN"],
                    ["Year", str(end_year)],
                    ["ReferenceDate", iso(year_end(end_year))],
                ],
            ],
            [
                "Source",
                [
                    ["SourceLevel", "L"],
                    ["LEA", LA_NUMBER],
                    ["SoftwareCode", "Demoton demo generator"],
                    ["Release", "1.0"],
                    ["SerialNo", "001"],
                    # A fixed time, so that the same seed always gives the same bytes.
                    ["DateTime", f"{end_year}-05-20T09:30:00"],
                ],
            ],
        ],
    ]


def iter_children(children: list[Child], end_year: int, shape: str) -> Iterator[Node]:
    """The ``Child`` nodes one at a time (no whole-file tree held in memory)."""
    for child in children:
        node = child_node(child, end_year, shape)
        if node is not None:
            yield node


def write_file(path: Path, end_year: int, children: Iterable[Node]) -> dict[str, int]:
    """Write the census XML child by child; return numbers for the summary."""
    tally = Counter()
    start_text, ref_text = iso(year_start(end_year)), iso(year_end(end_year))
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('<?xml version="1.0" encoding="utf-8"?>\n<Message>\n')
        parts: list[str] = []
        _write(header(end_year), 1, parts)
        handle.write("".join(parts))
        handle.write("  <Children>\n")
        for child in children:
            parts = []
            _write(child, 2, parts)
            handle.write("".join(parts))
            _tally(child, start_text, ref_text, tally)
        handle.write("  </Children>\n</Message>\n")
    return {
        "children": tally["children"],
        "episodes": tally["episodes"],
        "referrals": tally["referrals"],
        "cp_plans": tally["cp_plans"],
    }


def _write(node: Node, depth: int, parts: list[str]) -> None:
    tag, content = node
    pad = "  " * depth
    if isinstance(content, list):
        parts.append(f"{pad}<{tag}>\n")
        for child in content:
            _write(child, depth + 1, parts)
        parts.append(f"{pad}</{tag}>\n")
    else:
        parts.append(f"{pad}<{tag}>{escape(content)}</{tag}>\n")


def _tally(child: Node, start_text: str, ref_text: str, tally: Counter) -> None:
    """Children, CIN episodes, referrals starting in the year, CP plans."""
    tally["children"] += 1
    for tag, content in child[1]:
        if tag != "CINdetails":
            continue
        tally["episodes"] += 1
        for name, value in content:
            if name == "CINreferralDate" and start_text <= value <= ref_text:
                tally["referrals"] += 1
            elif name == "ChildProtectionPlans":
                tally["cp_plans"] += 1
