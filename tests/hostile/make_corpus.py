"""Make the hostile and broken input corpus (issue 8, part 6).

Run ``python tests/hostile/make_corpus.py`` to write ``corpus/`` and ``README.md``.

Every case starts from one of the small valid files below (written for this corpus: fictional
children, workers and providers) and breaks it in one way. The output is deterministic, so the
committed corpus can be re-made and ``tests/test_hostile_input.py`` checks that it matches. Huge
files are not committed: the test makes them in a temporary folder (see ``huge_cases``).

Each ``Case`` says what the loader must do with it:
  refused    the file is unreadable: named with a reason, nothing loads, the store is unchanged
  ignored    not a file the loader reads (a zip archive): listed as left out, store unchanged
  no_records read, but there is no record in it: nothing loads, store unchanged
  set_aside  read, but every record is invalid: problems located, nothing loads, store unchanged
  partial    valid records load, invalid ones are set aside and reported (the store changes)
  loaded     loads (with warnings where said), nothing set aside; hostile content stays inert text
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
README = HERE / "README.md"

# A fixed timestamp for zip entries, so archives and workbooks are byte-for-byte reproducible.
ZIP_TIME = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Case:
    name: str  # file (or, for an SSDA903 CSV set, folder) name under corpus/
    category: str
    what: str  # what the file is, in one line
    expect: str  # refused | ignored | no_records | set_aside | partial | loaded
    message: str  # words the outcome must use about this file (reason or problem's expectation)
    files: dict[str, bytes]  # path under corpus/ -> content
    # For set_aside and partial: one problem that must be reported, as
    # (file, location, field, value) -- location "row N" / "line N" or a prefix of it.
    problem: tuple[str, str, str | None, str | None] | None = None
    valid: dict[str, int] = field(default_factory=dict)  # table -> records that must load
    upload_message: str | None = None  # when the upload words it otherwise (zip archives)


# --- valid bases ---------------------------------------------------------------------------------

CIN_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<Message>
  <Header>
    <CollectionDetails>
      <Collection>CIN</Collection>
      <Year>2025</Year>
      <ReferenceDate>2025-03-31</ReferenceDate>
    </CollectionDetails>
  </Header>
  <Children>
"""
CIN_FOOTER = """  </Children>
</Message>
"""


def cin_child(
    child_id: str,
    *,
    birth: str = "2014-03-02",
    sex: str = "F",
    ethnicity: str = "WBRI",
    referral: str = "2024-06-10",
    source: str = "1A",
    need: str = "N1",
    assessment: str = "2024-06-11",
    factor: str = "2A",
    upn_block: str = "<UPNunknown>UN1</UPNunknown>",
) -> str:
    return f"""    <Child>
      <ChildIdentifiers>
        <LAchildID>{child_id}</LAchildID>
        {upn_block}
        <PersonBirthDate>{birth}</PersonBirthDate>
        <Sex>{sex}</Sex>
      </ChildIdentifiers>
      <ChildCharacteristics>
        <Ethnicity>{ethnicity}</Ethnicity>
        <Disabilities>
          <Disability>NONE</Disability>
        </Disabilities>
      </ChildCharacteristics>
      <CINdetails>
        <CINreferralDate>{referral}</CINreferralDate>
        <ReferralSource>{source}</ReferralSource>
        <PrimaryNeedCode>{need}</PrimaryNeedCode>
        <ReferralNFA>false</ReferralNFA>
        <Assessments>
          <AssessmentActualStartDate>{assessment}</AssessmentActualStartDate>
          <AssessmentAuthorisationDate>2024-07-01</AssessmentAuthorisationDate>
          <FactorsIdentifiedAtAssessment>
            <AssessmentFactors>{factor}</AssessmentFactors>
          </FactorsIdentifiedAtAssessment>
        </Assessments>
      </CINdetails>
    </Child>
"""


def cin(*children: str, header: str = CIN_HEADER) -> str:
    return header + "".join(children) + CIN_FOOTER


CIN_VALID = cin(cin_child("HZ0001"), cin_child("HZ0002", sex="M", birth="2010-11-20"))

SSDA903_HEADER = (
    "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
    "HZ9001,F,12/05/2012,WBRI,UN1,,\n"
    "HZ9002,M,03/02/2009,WBRI,UN1,,\n"
)
SSDA903_EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
    "HZ9001,01/05/2024,S,C2,N1,U4,PR1,,,,,,SC000001\n"
    "HZ9002,10/06/2024,S,V2,N4,K3,PR4,01/03/2025,E5,,,,SC000002\n"
)


def ssda903_xml_child(
    child_id: str,
    *,
    dob: str = "12/05/2012",
    sex: str = "F",
    decom: str = "01/05/2024",
    ls: str = "C2",
    place: str = "U4",
) -> str:
    return f"""  <CHILD>
    <HEADER>
      <CHILDID>{child_id}</CHILDID>
      <UPN>UN1</UPN>
      <SEX>{sex}</SEX>
      <DOB>{dob}</DOB>
      <ETHNIC>WBRI</ETHNIC>
      <UASC />
      <MOTHER />
      <MC_DOB />
    </HEADER>
    <EPISODE>
      <DECOM>{decom}</DECOM>
      <RNE>S</RNE>
      <LS>{ls}</LS>
      <CIN>N1</CIN>
      <PL>{place}</PL>
      <PLACE_PROVIDER>PR1</PLACE_PROVIDER>
      <URN>SC000001</URN>
    </EPISODE>
  </CHILD>
"""


def ssda903_xml(*children: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<EXPSSDA903>\n'
        + "".join(children)
        + ("</EXPSSDA903>\n")
    )


SSDA903_XML_VALID = ssda903_xml(
    ssda903_xml_child("HZ8001"), ssda903_xml_child("HZ8002", sex="M", dob="03/02/2009")
)

CSWW_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<Message>
  <Header>
    <CollectionDetails>
      <Collection>CSWW</Collection>
      <Year>2024</Year>
      <ReferenceDate>2024-09-30</ReferenceDate>
    </CollectionDetails>
    <Source>
      <SourceLevel>L</SourceLevel>
      <LEA>999</LEA>
    </Source>
  </Header>
  <LALevelVacancies>
    <NumberOfVacancies>3.50</NumberOfVacancies>
    <NoAgencyFTE>2.00</NoAgencyFTE>
    <NoAgencyHeadcount>2</NoAgencyHeadcount>
  </LALevelVacancies>
"""


def csww_worker(
    number: str, *, role: str = "5", start: str = "2019-01-07", birth: str = "1985-06-15"
) -> str:
    return f"""  <CSWWWorker>
    <AgencyWorker>0</AgencyWorker>
    <SWENo>{number}</SWENo>
    <FTE>1</FTE>
    <PersonBirthDate>{birth}</PersonBirthDate>
    <GenderCurrent>2</GenderCurrent>
    <Ethnicity>WBRI</Ethnicity>
    <QualInst>University Z</QualInst>
    <QualLevel>1</QualLevel>
    <OrgRole>{role}</OrgRole>
    <RoleStartDate>{start}</RoleStartDate>
    <StartOrigin>2</StartOrigin>
    <FTE30>1</FTE30>
    <Cases30>15</Cases30>
  </CSWWWorker>
"""


def csww(*workers: str, header: str = CSWW_HEADER) -> str:
    return header + "".join(workers) + "</Message>\n"


CSWW_VALID = csww(csww_worker("SW0000007001"), csww_worker("SW0000007002", role="4"))

SERVICES_COLUMNS = "child_id,service,provider,service_type,start_date,end_date"


def services(*rows: str, columns: str = SERVICES_COLUMNS) -> str:
    return columns + "\n" + "".join(row + "\n" for row in rows)


SERVICES_VALID = services(
    "HZ0001,Family Steps,Riverside Family Trust,neglect,2024-05-01,2024-10-31",
    "HZ0002,Safe at Home,Harbourside Aid,domestic_abuse,2024-06-03,",
)

AREAS_COLUMNS = (
    "area_code,area_name,ward_code,ward_name,locality,imd_decile,idaci_decile,children_0_17"
)
AREAS_VALID = (
    AREAS_COLUMNS + "\n"
    "X01000901,Hostile 001A,X05000901,Ward Nine,Easthold,3,4,300\n"
    "X01000902,Hostile 001B,X05000901,Ward Nine,Easthold,7,6,280\n"
)
ADDRESSES_VALID = "child_id,postcode,from_date\nHZ0001,QX9 9AA,2024-04-01\nHZ0002,,2024-05-01\n"

EES_COLUMNS = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,"
    "region_name,old_la_code,new_la_code,la_name,population_type,children_count"
)
EES_VALID = (
    EES_COLUMNS + "\n"
    "2025,Reporting year,National,E92000001,England,,,,,,Looked after,81770\n"
    "2025,Reporting year,Local authority,E92000001,England,E12000001,North East,841,E06000005,"
    "Darlington,Looked after,280\n"
)


def baseline_files() -> dict[str, bytes]:
    """The small valid load every test starts from (one file of each kind)."""
    return {
        "cin_2024-25.xml": CIN_VALID.encode(),
        "ssda903_2024-25/header.csv": SSDA903_HEADER.encode(),
        "ssda903_2024-25/episodes.csv": SSDA903_EPISODES.encode(),
        "csww_2024.xml": CSWW_VALID.encode(),
        "services.csv": SERVICES_VALID.encode(),
        "areas.csv": AREAS_VALID.encode(),
        "addresses.csv": ADDRESSES_VALID.encode(),
        "ees_looked_after.csv": EES_VALID.encode(),
    }


# --- building blocks for broken files ----------------------------------------------------------

PASSWD_XXE = '<!DOCTYPE Message [\n  <!ENTITY passwd SYSTEM "file:///etc/passwd">\n]>\n'
HTTP_XXE = '<!DOCTYPE Message [\n  <!ENTITY remote SYSTEM "http://127.0.0.1:9/secret">\n]>\n'


def laughs(root: str, depth: int = 10) -> str:
    """The "billion laughs": ten entities, each ten of the one before (10**9 "lol"s, 3 GB)."""
    lines = ['<!ENTITY lol0 "lol">']
    lines += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, depth)]
    return f"<!DOCTYPE {root} [\n  " + "\n  ".join(lines) + "\n]>\n"


def with_doctype(document: str, doctype: str) -> str:
    """Insert a document type declaration after the XML declaration."""
    declaration, rest = document.split("\n", 1)
    return f"{declaration}\n{doctype}{rest}"


def sheet_xml(rows: list[list[object]], *, prolog: str = "", dimension: bool = True) -> str:
    """A worksheet's XML. Cells are inline strings; a cell given as ("formula", "cached") is a
    formula with its cached text. Excel always writes the sheet's ``<dimension>`` (without it,
    openpyxl reads the whole sheet when the workbook opens; with it, row by row later)."""

    def cell(ref: str, value: object) -> str:
        if isinstance(value, tuple):
            formula, cached = value
            return f'<c r="{ref}" t="str"><f>{_escape(formula)}</f><v>{_escape(cached)}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{_escape(str(value))}</t></is></c>'

    body = "".join(
        f'<row r="{r}">'
        + "".join(cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(values) if v is not None)
        + "</row>"
        for r, values in enumerate(rows, start=1)
    )
    width = max((len(r) for r in rows), default=0)
    size = f'<dimension ref="A1:{chr(64 + width)}{len(rows)}"/>' if dimension and rows else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + prolog
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + f"{size}<sheetData>{body}</sheetData></worksheet>"
    )


def xlsx(rows: list[list[object]], *, sheet: str | None = None, extra: dict | None = None) -> bytes:
    """A minimal .xlsx workbook of ``rows`` on a sheet named "data", written by hand so that it
    is byte-for-byte reproducible. ``sheet`` replaces the worksheet XML (for hostile variants);
    ``extra`` adds parts."""
    sheet = sheet or sheet_xml(rows)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
        **(extra or {}),
    }
    return zip_bytes({name: text.encode() for name, text in parts.items()})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def noise(size: int, seed: int = 8) -> bytes:
    """Deterministic bytes that look random (a linear congruential generator)."""
    out = bytearray()
    state = seed
    for _ in range(size):
        state = (state * 1103515245 + 12345) % 2**31
        out.append(state >> 23)
    return bytes(out)


SERVICES_ROWS = [
    ["child_id", "service", "provider", "service_type", "start_date", "end_date"],
    ["HZ0001", "Family Steps", "Riverside Family Trust", "neglect", "2024-05-01", "2024-10-31"],
    ["HZ0002", "Safe at Home", "Harbourside Aid", "domestic_abuse", "2024-06-03", ""],
]


# --- the cases -----------------------------------------------------------------------------------

ENTITY = "entity expansion"
EXTERNAL = "external entity"
MALFORMED = "truncated or not well-formed XML (and CSV)"
ENCODING = "wrong encoding or BOM"
COLUMNS = "wrong or missing columns or elements"
CODES = "unknown codes"
DATES = "impossible dates"
DUPLICATES = "duplicate children (and other records)"
EMPTY = "empty file"
ZIP = "zip file"
FORMULA = "formula injection"
HUGE = "huge file"

DTD_REFUSED = "declares a document type or entities"
NOT_WELL_FORMED = "not well formed"
NOT_XML = "not XML"
UNKNOWN_CSV = "not a CSV layout this version reads"
NOT_UTF8 = "not UTF-8"
FINISHED = "finished"  # "Load N finished: ..." -- for files that load
NOTHING = "Nothing could be loaded"


def one(
    name: str, content: str | bytes, category: str, what: str, expect: str, message: str, **more
) -> Case:
    data = content.encode() if isinstance(content, str) else content
    return Case(name, category, what, expect, message, {name: data}, **more)


def ssda903_set(
    name: str,
    category: str,
    what: str,
    expect: str,
    message: str,
    *,
    files: dict[str, str | bytes] | None = None,
    **more,
) -> Case:
    """An SSDA903 CSV return: a folder of CSV files (by default the valid header and episodes)."""
    given = files or {"header.csv": SSDA903_HEADER, "episodes.csv": SSDA903_EPISODES}
    content = {
        f"{name}/{file}": data.encode() if isinstance(data, str) else data
        for file, data in given.items()
    }
    return Case(name, category, what, expect, message, content, **more)


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    child3 = cin_child("HZ0003")
    two_children = cin(child3, cin_child("HZ0004", sex="M"))
    episodes_head = SSDA903_EPISODES.split("\n", 1)[0]
    header_head = SSDA903_HEADER.split("\n", 1)[0]

    # entity expansion -----------------------------------------------------------------------
    add(
        one(
            "cin_billion_laughs.xml",
            with_doctype(cin(child3.replace(">HZ0003<", ">&lol9;<")), laughs("Message")),
            ENTITY,
            "CiN census with the billion laughs (10^9 copies of lol) in LAchildID",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "ssda903_billion_laughs.xml",
            with_doctype(SSDA903_XML_VALID.replace(">HZ8001<", ">&lol9;<"), laughs("EXPSSDA903")),
            ENTITY,
            "SSDA903 XML with the billion laughs in CHILDID",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "csww_billion_laughs.xml",
            with_doctype(CSWW_VALID.replace(">SW0000007001<", ">&lol9;<"), laughs("Message")),
            ENTITY,
            "CSWW return with the billion laughs in SWENo",
            "refused",
            DTD_REFUSED,
        )
    )
    quadratic = '<!DOCTYPE Message [\n  <!ENTITY big "' + "A" * 4000 + '">\n]>\n'
    add(
        one(
            "cin_quadratic_blowup.xml",
            with_doctype(cin(child3.replace(">HZ0003<", ">" + "&big;" * 5000 + "<")), quadratic),
            ENTITY,
            "CiN census with a 4,000-character entity used 5,000 times (quadratic blowup)",
            "refused",
            DTD_REFUSED,
        )
    )
    parameter = (
        "<!DOCTYPE Message [\n  <!ENTITY % p0 \"<!ENTITY x0 'xx'>\">\n  %p0;\n"
        "  <!ENTITY % p1 \"<!ENTITY x1 '&x0;&x0;&x0;&x0;&x0;&x0;&x0;&x0;'>\">\n  %p1;\n]>\n"
    )
    add(
        one(
            "cin_parameter_entities.xml",
            with_doctype(cin(child3.replace(">HZ0003<", ">&x1;<")), parameter),
            ENTITY,
            "CiN census declaring its entities through parameter entities",
            "refused",
            DTD_REFUSED,
        )
    )
    laughs_utf16 = with_doctype(cin(child3.replace(">HZ0003<", ">&lol9;<")), laughs("Message"))
    add(
        one(
            "cin_laughs_utf16_no_bom.xml",
            laughs_utf16.replace('encoding="utf-8"', 'encoding="UTF-16LE"').encode("utf-16-le"),
            ENTITY,
            "the billion laughs in UTF-16 without a byte-order mark (no ASCII <!DOCTYPE "
            "for a byte scan to see)",
            "refused",
            DTD_REFUSED,
        )
    )
    csww_laughs = with_doctype(CSWW_VALID.replace(">SW0000007001<", ">&lol9;<"), laughs("Message"))
    add(
        one(
            "csww_laughs_utf16_bom.xml",
            csww_laughs.replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16"),
            ENTITY,
            "CSWW billion laughs in UTF-16 with a byte-order mark",
            "refused",
            DTD_REFUSED,
        )
    )

    # external entities ----------------------------------------------------------------------
    add(
        one(
            "cin_xxe_file.xml",
            with_doctype(cin(child3.replace(">HZ0003<", ">&passwd;<")), PASSWD_XXE),
            EXTERNAL,
            "CiN census whose LAchildID is an external entity reading /etc/passwd",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "cin_xxe_http.xml",
            with_doctype(cin(child3.replace(">1A<", ">&remote;<")), HTTP_XXE),
            EXTERNAL,
            "CiN census whose ReferralSource is fetched from http://127.0.0.1:9/",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "ssda903_xxe_parameter_dtd.xml",
            with_doctype(
                SSDA903_XML_VALID,
                "<!DOCTYPE EXPSSDA903 [\n  <!ENTITY % ext SYSTEM "
                '"http://127.0.0.1:9/evil.dtd">\n  %ext;\n]>\n',
            ),
            EXTERNAL,
            "SSDA903 XML pulling an external DTD through a parameter entity "
            "(out-of-band exfiltration)",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "csww_xxe_file.xml",
            with_doctype(CSWW_VALID.replace(">SW0000007001<", ">&passwd;<"), PASSWD_XXE),
            EXTERNAL,
            "CSWW return whose SWENo reads /etc/passwd",
            "refused",
            DTD_REFUSED,
        )
    )
    add(
        one(
            "cin_external_dtd.xml",
            with_doctype(CIN_VALID, '<!DOCTYPE Message SYSTEM "http://127.0.0.1:9/census.dtd">\n'),
            EXTERNAL,
            "CiN census naming an external DTD on the network",
            "refused",
            DTD_REFUSED,
        )
    )
    xinclude = replace_once(
        cin(child3),
        "<LAchildID>HZ0003</LAchildID>",
        "<LAchildID>HZ0003</LAchildID>\n        <xi:include "
        'xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>',
    )
    add(
        one(
            "cin_xinclude.xml",
            xinclude,
            EXTERNAL,
            "CiN census with an XInclude of /etc/passwd (no DOCTYPE): the include is never "
            "processed; the child loads",
            "loaded",
            FINISHED,
            valid={"children": 1},
        )
    )
    xxe_rows = [SERVICES_ROWS[0], ["PASSWD", *SERVICES_ROWS[1][1:]]]
    xxe_doctype = '<!DOCTYPE worksheet [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>\n'
    for name, dimension, when in (
        ("services_xxe.xlsx", True, "as the rows are read"),
        ("services_xxe_no_dimension.xlsx", False, "as the workbook opens"),
    ):
        sheet = sheet_xml(xxe_rows, prolog=xxe_doctype, dimension=dimension)
        add(
            one(
                name,
                xlsx([], sheet=sheet.replace(">PASSWD<", ">&passwd;<")),
                EXTERNAL,
                f"commissioned services workbook whose sheet XML reads /etc/passwd (refused "
                f"{when})",
                "refused",
                DTD_REFUSED,
            )
        )

    add(
        one(
            "cin_stylesheet_pi.xml",
            CIN_VALID.replace(
                "?>",
                '?>\n<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/census.xsl"?>',
                1,
            ),
            EXTERNAL,
            "CiN census naming a stylesheet on the network: never fetched; loads",
            "loaded",
            FINISHED,
            valid={"children": 2},
        )
    )

    # truncated and not well-formed XML --------------------------------------------------------
    add(
        one(
            "cin_truncated.xml",
            CIN_VALID[: len(CIN_VALID) * 2 // 3],
            MALFORMED,
            "CiN census cut off two thirds of the way through",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "ssda903_truncated.xml",
            SSDA903_XML_VALID[: len(SSDA903_XML_VALID) // 2],
            MALFORMED,
            "SSDA903 XML cut off half way",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "csww_truncated.xml",
            CSWW_VALID[:-40],
            MALFORMED,
            "CSWW return missing its last 40 characters",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "cin_mismatched_tags.xml",
            replace_once(CIN_VALID, "<Sex>M</Sex>", "<Sex>M</sex>"),
            MALFORMED,
            "CiN census with a closing tag in the wrong case",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "cin_unescaped_ampersand.xml",
            replace_once(CIN_VALID, ">HZ0002<", ">HZ&0002<"),
            MALFORMED,
            "CiN census with a bare & in a value",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "cin_two_roots.xml",
            CIN_VALID + "<Message></Message>\n",
            MALFORMED,
            "CiN census followed by a second root element",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "ssda903_random_bytes.xml",
            noise(4096),
            MALFORMED,
            "4 KB of random bytes named .xml",
            "refused",
            NOT_XML,
        )
    )
    deep = cin(child3.replace("<CINdetails>", "<CINdetails>" + "<Nest>" * 3000, 1))
    add(
        one(
            "cin_deep_nesting.xml",
            deep,
            MALFORMED,
            "CiN census with 3,000 nested elements and none of them closed",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "cin_csv_inside.xml",
            SSDA903_HEADER,
            MALFORMED,
            "an SSDA903 CSV saved with a .xml name",
            "refused",
            NOT_XML,
        )
    )

    add(
        one(
            "ees_unclosed_quote.csv",
            EES_VALID.replace(",Darlington,", ',"Darlington,'),
            MALFORMED,
            "published statistics with a quote opened and never closed",
            "refused",
            "cannot be parsed",
        )
    )
    add(
        one(
            "addresses_unclosed_quote.csv",
            ADDRESSES_VALID.replace(",QX9 9AA,", ',"QX9 9AA,'),
            MALFORMED,
            "child address extract with a quote opened and never closed",
            "refused",
            "could not be parsed",
        )
    )
    add(
        ssda903_set(
            "ssda903_truncated_csv",
            MALFORMED,
            "SSDA903 set whose episodes.csv stops in the middle of its last row",
            "partial",
            "RNE",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": SSDA903_EPISODES[: SSDA903_EPISODES.rindex(",S,")],
            },
            problem=("episodes.csv", "row 2", "RNE", None),
            valid={"episodes": 1},
        )
    )

    many = [SERVICES_ROWS[0]] + [
        [f"HZ{i:05d}", "Family Steps", "Riverside Family Trust", "neglect", "2024-05-01", ""]
        for i in range(300)
    ]
    whole = sheet_xml(many)
    add(
        one(
            "services_damaged_sheet.xlsx",
            xlsx([], sheet=whole[: len(whole) * 2 // 3]),
            MALFORMED,
            "commissioned services workbook whose sheet XML stops two thirds of the "
            "way through (the zip itself is sound)",
            "refused",
            "could not be read",
        )
    )

    # wrong encodings and byte-order marks ------------------------------------------------------
    add(
        one(
            "cin_utf16.xml",
            CIN_VALID.replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16"),
            ENCODING,
            "a valid CiN census in UTF-16 with a byte-order mark: read as declared",
            "loaded",
            FINISHED,
            valid={"children": 2},
        )
    )
    add(
        one(
            "cin_latin1_declared_utf8.xml",
            replace_once(
                CIN_VALID, "<Ethnicity>WBRI</Ethnicity>", "<Ethnicity>WBRI\xe9</Ethnicity>"
            ).encode("latin-1"),
            ENCODING,
            "CiN census declared UTF-8 holding a Latin-1 byte",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "csww_declared_utf16_is_utf8.xml",
            CSWW_VALID.replace('encoding="utf-8"', 'encoding="UTF-16"'),
            ENCODING,
            "CSWW return declared UTF-16 but written in UTF-8",
            "refused",
            NOT_WELL_FORMED,
        )
    )
    add(
        one(
            "cin_ebcdic.xml",
            CIN_VALID.replace('encoding="utf-8"', 'encoding="IBM037"').encode("cp037"),
            ENCODING,
            "CiN census in EBCDIC (IBM037)",
            "refused",
            NOT_XML,
        )
    )
    add(
        ssda903_set(
            "ssda903_utf16",
            ENCODING,
            "SSDA903 set whose header.csv is UTF-16: read, with a warning",
            "loaded",
            "this one is UTF-16",
            files={"header.csv": SSDA903_HEADER.encode("utf-16"), "episodes.csv": SSDA903_EPISODES},
            valid={"episodes": 2},
        )
    )
    add(
        ssda903_set(
            "ssda903_windows1252",
            ENCODING,
            "SSDA903 set whose episodes.csv is Windows-1252 (a curly quote in an extra "
            "column): read, with warnings",
            "loaded",
            "read as Windows-1252",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": "\n".join(
                    line + (",NOTES" if i == 0 else ",O\u2019Neill placement")
                    for i, line in enumerate(SSDA903_EPISODES.strip().split("\n"))
                ).encode("cp1252")
                + b"\n",
            },
            valid={"episodes": 2},
        )
    )
    add(
        one(
            "services_latin1.csv",
            SERVICES_VALID.replace("Riverside", "Caf\xe9 Riverside").encode("latin-1"),
            ENCODING,
            "commissioned services saved as Latin-1",
            "refused",
            NOT_UTF8,
        )
    )
    add(
        one(
            "areas_utf16.csv",
            AREAS_VALID.encode("utf-16"),
            ENCODING,
            "area list saved as UTF-16",
            "refused",
            UNKNOWN_CSV,
        )
    )
    add(
        one(
            "ees_utf32.csv",
            EES_VALID.encode("utf-32"),
            ENCODING,
            "published statistics saved as UTF-32",
            "refused",
            UNKNOWN_CSV,
        )
    )
    add(
        one(
            "services_double_bom.csv",
            ("\ufeff\ufeff" + SERVICES_VALID).encode(),
            ENCODING,
            "commissioned services with two byte-order marks",
            "loaded",
            FINISHED,
            valid={"commissioned_services": 2},
        )
    )
    add(
        one(
            "addresses_nul_bytes.csv",
            ADDRESSES_VALID.replace("QX9 9AA", "QX9\x00\x009AA"),
            ENCODING,
            "child address extract with NUL bytes inside a postcode",
            "loaded",
            FINISHED,
            valid={"child_addresses": 2},
        )
    )

    add(
        one(
            "cin_unknown_encoding.xml",
            CIN_VALID.replace('encoding="utf-8"', 'encoding="x-klingon"'),
            ENCODING,
            "CiN census declaring an encoding that does not exist",
            "refused",
            "Unsupported encoding",
        )
    )

    # wrong or missing columns (CSV) and elements (XML) ---------------------------------------
    add(
        ssda903_set(
            "ssda903_episodes_without_decom",
            COLUMNS,
            "SSDA903 set whose episodes.csv lacks DECOM",
            "refused",
            "lacks the column",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": SSDA903_EPISODES.replace(",DECOM", "", 1),
            },
        )
    )
    add(
        ssda903_set(
            "ssda903_two_header_files",
            COLUMNS,
            "SSDA903 set with two files holding the header table",
            "refused",
            "both hold the SSDA903",
            files={
                "header.csv": SSDA903_HEADER,
                "header_2.csv": SSDA903_HEADER.rsplit("\n", 2)[0] + "\n",
                "episodes.csv": SSDA903_EPISODES,
            },
        )
    )
    add(
        one(
            "services_without_provider.csv",
            services(
                "HZ0001,Family Steps,neglect,2024-05-01,",
                columns="child_id,service,service_type,start_date,end_date",
            ),
            COLUMNS,
            "commissioned services without the required provider column",
            "refused",
            "missing column(s) provider",
        )
    )
    add(
        one(
            "services_repeated_column.csv",
            services(
                "HZ0001,Family Steps,Riverside,neglect,2024-05-01,,Other",
                columns=SERVICES_COLUMNS + ",Provider",
            ),
            COLUMNS,
            "commissioned services with provider twice (different case)",
            "refused",
            "two columns have the same name",
        )
    )
    add(
        one(
            "areas_missing_column.csv",
            "\n".join(line.rsplit(",", 1)[0] for line in AREAS_VALID.strip().split("\n")) + "\n",
            COLUMNS,
            "area list without children_0_17",
            "refused",
            UNKNOWN_CSV,
        )
    )
    add(
        one(
            "ees_missing_geographic_level.csv",
            EES_VALID.replace("geographic_level", "level"),
            COLUMNS,
            "published statistics without geographic_level",
            "refused",
            UNKNOWN_CSV,
        )
    )
    add(
        one(
            "cin_wrong_root.xml",
            '<?xml version="1.0" encoding="utf-8"?>\n<Invoices><Invoice/></Invoices>\n',
            COLUMNS,
            "XML whose root is <Invoices>",
            "refused",
            "root element <Invoices>",
        )
    )
    add(
        one(
            "cin_namespaced.xml",
            CIN_VALID.replace("<Message>", '<Message xmlns="http://example.org/not-dfe">'),
            COLUMNS,
            "CiN census whose elements are in an XML namespace",
            "refused",
            "root element <{http://example.org/not-dfe}Message>",
        )
    )
    add(
        one(
            "addresses_long_row.csv",
            ADDRESSES_VALID + "HZ0005,QX9 9AB,2024-06-01,spilled,over\n",
            COLUMNS,
            "child address extract with a row of five values under three columns",
            "refused",
            "could not be parsed",
        )
    )
    add(
        one(
            "ssda903_unknown_element.xml",
            replace_once(
                SSDA903_XML_VALID,
                "<ETHNIC>WBRI</ETHNIC>",
                "<ETHNIC>WBRI</ETHNIC>\n      <FAVOURITE_COLOUR>blue</FAVOURITE_COLOUR>",
            ),
            COLUMNS,
            "SSDA903 XML with an element no return has: ignored, with a warning",
            "loaded",
            "FAVOURITE_COLOUR",
            valid={"episodes": 2},
        )
    )
    add(
        one(
            "csww_header_says_cin.xml",
            CSWW_VALID.replace("<Collection>CSWW</Collection>", "<Collection>CIN</Collection>"),
            COLUMNS,
            "CSWW return whose header names the CiN collection (read as a census with no children)",
            "refused",
            "no <Child> records",
        )
    )

    # unknown codes -----------------------------------------------------------------------------
    add(
        one(
            "cin_unknown_codes.xml",
            cin(child3, cin_child("HZ0004", source="ZZ")),
            CODES,
            "CiN census: the second child's ReferralSource is ZZ",
            "partial",
            "ReferralSource",
            problem=("cin_unknown_codes.xml", "line", "ReferralSource", "ZZ"),
            valid={"children": 2},
        )
    )
    add(
        ssda903_set(
            "ssda903_unknown_codes",
            CODES,
            "SSDA903 set: the second episode's legal status is Q9",
            "partial",
            "LS",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": replace_once(SSDA903_EPISODES, ",V2,", ",Q9,"),
            },
            problem=("episodes.csv", "row 2", "LS", "Q9"),
            valid={"episodes": 1},
        )
    )
    add(
        one(
            "ssda903_unknown_codes.xml",
            ssda903_xml(ssda903_xml_child("HZ8001"), ssda903_xml_child("HZ8002", place="Z99")),
            CODES,
            "SSDA903 XML: the second episode's placement is Z99",
            "partial",
            "PL",
            problem=("ssda903_unknown_codes.xml", "line", "PL", "Z99"),
            valid={"episodes": 1},
        )
    )
    add(
        one(
            "csww_unknown_codes.xml",
            csww(csww_worker("SW0000007001"), csww_worker("SW0000007002", role="99")),
            CODES,
            "CSWW: the second worker's OrgRole is 99",
            "partial",
            "OrgRole",
            problem=("csww_unknown_codes.xml", "line", "OrgRole", "99"),
            valid={"workforce_workers": 1},
        )
    )
    add(
        one(
            "services_unknown_codes.csv",
            SERVICES_VALID.replace("domestic_abuse", "magic_beans"),
            CODES,
            "commissioned services: service_type magic_beans",
            "partial",
            "service_type",
            problem=("services_unknown_codes.csv", "row 2", "service_type", "magic_beans"),
            valid={"commissioned_services": 1},
        )
    )
    add(
        one(
            "areas_bad_decile.csv",
            AREAS_VALID.replace(",7,6,", ",11,6,"),
            CODES,
            "area list with an IMD decile of 11",
            "partial",
            "imd_decile",
            problem=("areas_bad_decile.csv", "row 2", "imd_decile", "11"),
            valid={"ref_areas": 1},
        )
    )
    add(
        one(
            "ees_unknown_symbol.csv",
            EES_VALID.replace(",280\n", ",lots\n")
            + "".join(
                f"2025,Reporting year,Local authority,E92000001,England,E12000001,North East,"
                f"9{i:02d},E069000{i:02d},Authority {i},Looked after,{100 + i}\n"
                for i in range(10)
            ),
            CODES,
            'published statistics with a count of "lots" (not a number nor a DfE symbol)',
            "partial",
            "children_count",
            problem=("ees_unknown_symbol.csv", "row 2", "children_count", "lots"),
            valid={"published_statistics": 11},
        )
    )

    add(
        one(
            "services_every_row_bad.csv",
            SERVICES_VALID.replace("neglect", "magic_beans").replace("domestic_abuse", "spells"),
            CODES,
            "commissioned services in which every row has an unknown service_type",
            "set_aside",
            "service_type",
            problem=("services_every_row_bad.csv", "row 1", "service_type", "magic_beans"),
        )
    )

    # impossible dates --------------------------------------------------------------------------
    add(
        one(
            "cin_impossible_dates.xml",
            cin(child3, cin_child("HZ0004", referral="2024-02-30", assessment="2024-13-01")),
            DATES,
            "CiN census: a referral on 30 February and an assessment in month 13",
            "partial",
            "CINreferralDate",
            problem=("cin_impossible_dates.xml", "line", "CINreferralDate", "2024-02-30"),
            valid={"children": 2},
        )
    )
    add(
        ssda903_set(
            "ssda903_impossible_dates",
            DATES,
            "SSDA903 set: an episode starting 31/02/2024",
            "partial",
            "DECOM",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": replace_once(SSDA903_EPISODES, "10/06/2024", "31/02/2024"),
            },
            problem=("episodes.csv", "row 2", "DECOM", "31/02/2024"),
            valid={"episodes": 1},
        )
    )
    add(
        one(
            "ssda903_impossible_dates.xml",
            ssda903_xml(
                ssda903_xml_child("HZ8001"), ssda903_xml_child("HZ8002", decom="00/00/0000")
            ),
            DATES,
            "SSDA903 XML: an episode starting 00/00/0000",
            "partial",
            "DECOM",
            problem=("ssda903_impossible_dates.xml", "line", "DECOM", "00/00/0000"),
            valid={"episodes": 1},
        )
    )
    add(
        one(
            "csww_impossible_dates.xml",
            csww(csww_worker("SW0000007001"), csww_worker("SW0000007002", start="2023-13-45")),
            DATES,
            "CSWW: a RoleStartDate of 2023-13-45",
            "partial",
            "RoleStartDate",
            problem=("csww_impossible_dates.xml", "line", "RoleStartDate", "2023-13-45"),
            valid={"workforce_workers": 1},
        )
    )
    add(
        one(
            "services_impossible_dates.csv",
            SERVICES_VALID.replace("2024-06-03", "2024-02-30"),
            DATES,
            "commissioned services starting on 30 February",
            "partial",
            "start_date",
            problem=("services_impossible_dates.csv", "row 2", "start_date", "2024-02-30"),
            valid={"commissioned_services": 1},
        )
    )
    add(
        one(
            "addresses_impossible_dates.csv",
            ADDRESSES_VALID.replace("2024-05-01", "31/04/2024"),
            DATES,
            "child address extract with 31 April",
            "partial",
            "from_date",
            problem=("addresses_impossible_dates.csv", "row 2", "from_date", "31/04/2024"),
            valid={"child_addresses": 1},
        )
    )
    add(
        one(
            "ees_impossible_period.csv",
            EES_VALID.replace("\n2025,Reporting year,Local", "\n,Reporting year,Local"),
            DATES,
            "published statistics with a blank time_period",
            "partial",
            "time_period",
            problem=("ees_impossible_period.csv", "row 2", "time_period", None),
            valid={"published_statistics": 1},
        )
    )

    add(
        one(
            "cin_every_child_bad.xml",
            cin(cin_child("HZ0003", birth="2014-02-30"), cin_child("HZ0004", birth="2010-00-10")),
            DATES,
            "CiN census in which every child's date of birth is impossible",
            "set_aside",
            "PersonBirthDate",
            problem=("cin_every_child_bad.xml", "line", "PersonBirthDate", "2014-02-30"),
        )
    )

    # duplicate children -------------------------------------------------------------------------
    add(
        one(
            "cin_duplicate_child.xml",
            cin(child3, child3, cin_child("HZ0004")),
            DUPLICATES,
            "CiN census holding child HZ0003 twice",
            "partial",
            "LAchildID",
            problem=("cin_duplicate_child.xml", "line", "LAchildID", "HZ0003"),
            valid={"children": 1},
        )
    )
    add(
        ssda903_set(
            "ssda903_duplicate_child",
            DUPLICATES,
            "SSDA903 header.csv holding child HZ9001 twice",
            "partial",
            "CHILD",
            files={
                "header.csv": SSDA903_HEADER + "HZ9001,F,12/05/2012,WBRI,UN1,,\n",
                "episodes.csv": SSDA903_EPISODES,
            },
            problem=("header.csv", "row 3", "CHILD", "HZ9001"),
            valid={"children": 1, "episodes": 2},
        )
    )
    add(
        one(
            "ssda903_duplicate_child.xml",
            ssda903_xml(
                ssda903_xml_child("HZ8001"),
                ssda903_xml_child("HZ8001"),
                ssda903_xml_child("HZ8002", sex="M"),
            ),
            DUPLICATES,
            "SSDA903 XML holding child HZ8001 twice",
            "partial",
            "CHILDID",
            problem=("ssda903_duplicate_child.xml", "line", "CHILDID", "HZ8001"),
            valid={"children": 1},
        )
    )
    add(
        one(
            "csww_duplicate_worker.xml",
            csww(
                csww_worker("SW0000007001"),
                csww_worker("SW0000007001", role="4"),
                csww_worker("SW0000007003"),
            ),
            DUPLICATES,
            "CSWW return holding worker SW0000007001 twice",
            "partial",
            "SWENo",
            problem=("csww_duplicate_worker.xml", "line", "SWENo", "SW0000007001"),
            valid={"workforce_workers": 1},
        )
    )
    add(
        one(
            "services_duplicate_key.csv",
            services(
                *SERVICES_VALID.strip().split("\n")[1:],
                "HZ0001,Family Steps,Another Provider,neglect,2024-05-01,",
            ),
            DUPLICATES,
            "commissioned services: the same child, service and start twice, differently",
            "partial",
            "start_date",
            problem=("services_duplicate_key.csv", "row 3", "start_date", "2024-05-01"),
            valid={"commissioned_services": 1},
        )
    )
    add(
        one(
            "addresses_duplicate_child.csv",
            ADDRESSES_VALID + "HZ0001,QX9 9AB,2024-04-01\n",
            DUPLICATES,
            "child address extract with two addresses for one child on one date",
            "partial",
            "one address per child per date",
            problem=("addresses_duplicate_child.csv", "row 3", "from_date", "2024-04-01"),
            valid={"child_addresses": 1},
        )
    )

    add(
        one(
            "ees_duplicate_area.csv",
            EES_VALID + EES_VALID.split("\n")[2].replace(",280", ",290") + "\n",
            DUPLICATES,
            "published statistics giving Darlington twice for one period",
            "partial",
            "one row per time period, area and breakdown",
            problem=("ees_duplicate_area.csv", "row 3", "new_la_code", "E06000005"),
            valid={"published_statistics": 2},
        )
    )
    add(
        one(
            "areas_duplicate_code.csv",
            AREAS_VALID + "X01000902,Hostile 001B again,X05000901,Ward Nine,Easthold,7,6,281\n",
            DUPLICATES,
            "area list giving one area code twice",
            "partial",
            "each code only once",
            problem=("areas_duplicate_code.csv", "row 3", "area_code", "X01000902"),
            valid={"ref_areas": 1},
        )
    )

    # empty files -------------------------------------------------------------------------------
    add(one("empty.xml", b"", EMPTY, "an empty .xml file", "refused", "empty"))
    add(one("empty.csv", b"", EMPTY, "an empty .csv file", "refused", "empty"))
    add(one("empty.xlsx", b"", EMPTY, "an empty .xlsx file", "refused", "empty"))
    add(
        one(
            "whitespace_only.xml",
            "\n  \t\n\n",
            EMPTY,
            "an .xml file of blank lines",
            "refused",
            "empty",
        )
    )
    add(
        one(
            "bom_only.csv",
            "\ufeff",
            EMPTY,
            "a .csv file holding only a byte-order mark",
            "refused",
            "empty",
        )
    )
    add(
        one(
            "services_header_only.csv",
            SERVICES_COLUMNS + "\n",
            EMPTY,
            "commissioned services: the header row and no data",
            "no_records",
            NOTHING,
        )
    )
    add(
        ssda903_set(
            "ssda903_header_rows_only",
            EMPTY,
            "SSDA903 set whose files hold header rows and no data (so no dates to tell the "
            "year from)",
            "refused",
            "the collection year could not be told",
            files={"header.csv": header_head + "\n", "episodes.csv": episodes_head + "\n"},
        )
    )
    add(
        one(
            "cin_no_children.xml",
            cin(),
            EMPTY,
            "CiN census with a header and no children",
            "refused",
            "no <Child> records",
        )
    )
    add(
        one(
            "services_empty_sheet.xlsx",
            xlsx([]),
            EMPTY,
            "a workbook whose data sheet is empty",
            "refused",
            "not laid out as a local-data template",
        )
    )

    add(
        one(
            "ees_header_only.csv",
            EES_COLUMNS + "\n",
            EMPTY,
            "published statistics: the header row and no data",
            "no_records",
            NOTHING,
        )
    )

    # zip files ----------------------------------------------------------------------------------
    add(
        one(
            "returns_2024-25.zip",
            zip_bytes({"cin_2024-25.xml": two_children.encode()}),
            ZIP,
            "a zip archive holding a CiN census: not opened",
            "ignored",
            "not a file this version reads",
            upload_message="a zip archive",
        )
    )
    add(
        one(
            "zip_named_csv.csv",
            zip_bytes({"header.csv": SSDA903_HEADER.encode()}),
            ZIP,
            "a zip archive renamed .csv",
            "refused",
            UNKNOWN_CSV,
        )
    )
    add(
        one(
            "zip_named_xml.xml",
            zip_bytes({"cin.xml": CIN_VALID.encode()}),
            ZIP,
            "a zip archive renamed .xml",
            "refused",
            NOT_XML,
        )
    )
    add(
        one(
            "services_zip_bomb.xlsx",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "xl/worksheets/sheet1.xml": b"\0" * (40 * 1024 * 1024),
                }
            ),
            ZIP,
            "a workbook expanding 1000-fold to 40 MB (a zip bomb)",
            "refused",
            "zip bomb",
        )
    )
    add(
        one(
            "not_a_workbook.xlsx",
            zip_bytes({"readme.txt": b"not a workbook\n"}),
            ZIP,
            "a zip archive with no workbook inside, named .xlsx",
            "refused",
            "could not be opened",
        )
    )
    workbook = xlsx([row for row in SERVICES_ROWS])
    add(
        one(
            "services_truncated.xlsx",
            workbook[: len(workbook) // 2],
            ZIP,
            "a workbook cut in half",
            "refused",
            "damaged",
        )
    )

    # formula injection -----------------------------------------------------------------------
    add(
        one(
            "services_formula_injection.csv",
            services(
                'HZ0001,"=HYPERLINK(""http://127.0.0.1:9/"",""click"")",'
                "Riverside Family Trust,neglect,2024-05-01,",
                "HZ0002,Safe at Home,\"+cmd|' /C calc'!A0\",domestic_abuse,2024-06-03,",
                "HZ0003,@SUM(1+1),-2+3,parenting,2024-07-01,",
                "HZ0004,Evening Club,\t=1+1,youth,2024-08-01,",
            ),
            FORMULA,
            "commissioned services whose service and provider names are spreadsheet "
            "formulas (=, +, -, @, tab)",
            "loaded",
            FINISHED,
            valid={"commissioned_services": 4},
        )
    )
    add(
        one(
            "services_formula_injection.xlsx",
            xlsx(
                [
                    SERVICES_ROWS[0],
                    [
                        "HZ0001",
                        "Family Steps",
                        '=HYPERLINK("http://127.0.0.1:9/","click")',
                        "neglect",
                        "2024-05-01",
                    ],
                    [
                        "HZ0002",
                        ('HYPERLINK("http://127.0.0.1:9/","x")', "Safe at Home"),
                        "@SUM(1+1)",
                        "domestic_abuse",
                        "2024-06-03",
                    ],
                ]
            ),
            FORMULA,
            "commissioned services workbook: formula text in cells, and a real "
            "formula (its cached text is read, never evaluated)",
            "loaded",
            FINISHED,
            valid={"commissioned_services": 2},
        )
    )
    add(
        one(
            "addresses_formula.csv",
            "child_id,postcode,from_date\n@SUM(1+1),=1+1,2024-04-01\n",
            FORMULA,
            "child address extract whose id and postcode are formulas",
            "loaded",
            FINISHED,
            valid={"child_addresses": 1},
        )
    )
    add(
        one(
            "ees_formula.csv",
            EES_VALID.replace("Darlington", '"=HYPERLINK(""http://127.0.0.1:9/"",""x"")"'),
            FORMULA,
            "published statistics whose la_name is a formula",
            "loaded",
            FINISHED,
            valid={"published_statistics": 2},
        )
    )
    add(
        ssda903_set(
            "ssda903_formula",
            FORMULA,
            "SSDA903 set whose URN is a formula: loads, with a warning",
            "loaded",
            "an Ofsted URN",
            files={
                "header.csv": SSDA903_HEADER,
                "episodes.csv": replace_once(SSDA903_EPISODES, "SC000002", "=cmd|' /C calc'!A0"),
            },
            problem=("episodes.csv", "row 2", "URN", "=cmd|' /C calc'!A0"),
            valid={"episodes": 2},
        )
    )
    return c


# --- huge files: made by the test in a temporary folder, never committed -------------------------

MB = 1024 * 1024
HUGE_CASES = [
    ("huge_sparse.csv", "250 MB of zero bytes (a sparse file) named .csv", "refused", UNKNOWN_CSV),
    ("huge_sparse.xml", "250 MB of zero bytes (a sparse file) named .xml", "refused", NOT_XML),
    ("huge_sparse.xlsx", "250 MB of zero bytes (a sparse file) named .xlsx", "refused", "damaged"),
    ("huge_repeated.csv", "250 MB of one repeated line that is no layout", "refused", UNKNOWN_CSV),
    ("huge_one_line.csv", "a 64 MB first line with no line break", "refused", UNKNOWN_CSV),
    (
        "cin_million_elements.xml",
        "CiN census with one child and 1,000,000 empty elements after it",
        "loaded",
        FINISHED,
    ),
    ("cin_huge_text.xml", "CiN census whose LAchildID is 20 MB long", "refused", NOT_WELL_FORMED),
    (
        "cin_late_doctype.xml",
        "the billion laughs after a 100 KB comment (beyond any "
        "fixed-size look at the start of the file)",
        "refused",
        DTD_REFUSED,
    ),
    ("cin_deep_100k.xml", "CiN census with 100,000 nested elements", "refused", NOT_WELL_FORMED),
    (
        "ssda903_huge_field",
        "SSDA903 set whose header.csv has a 1 MB value (beyond the csv module's field limit)",
        "refused",
        "could not be parsed",
    ),
    (
        "sn_huge_field.csv",
        "statistical neighbours table with a 1 MB authority name",
        "refused",
        "cannot be parsed",
    ),
]
# Uploads of more than 200 MB are refused before anything is written or read.
UPLOAD_TOO_LARGE = "larger than 200 MB"


def make_huge(name: str, folder: Path) -> Path:
    """Write the huge case ``name`` into ``folder`` (a temporary one: these are not committed)."""
    path = folder / name
    if name.startswith("huge_sparse"):
        with path.open("wb") as handle:
            handle.truncate(250 * MB)  # sparse: no disk space is used
    elif name == "huge_repeated.csv":
        block = b"lorem,ipsum,dolor,sit,amet\n" * (MB // 27)
        with path.open("wb") as handle:
            for _ in range(250 * MB // len(block)):
                handle.write(block)
    elif name == "huge_one_line.csv":
        with path.open("wb") as handle:
            for _ in range(64):
                handle.write(b"x" * MB)
    elif name == "cin_million_elements.xml":
        path.write_text(cin(cin_child("HZ0003") + "    <Junk/>\n" * 1_000_000))
    elif name == "cin_huge_text.xml":
        path.write_text(cin(cin_child("HZ" + "0" * (20 * MB))))
    elif name == "cin_late_doctype.xml":
        comment = "<!-- " + "padding " * (100 * 1024 // 8) + "-->\n"
        document = cin(cin_child("HZ0003").replace(">HZ0003<", ">&lol9;<"))
        path.write_text(with_doctype(document, comment + laughs("Message")))
    elif name == "cin_deep_100k.xml":
        path.write_text(cin(cin_child("HZ0003").replace("<CINdetails>", "<Nest>" * 100_000, 1)))
    elif name == "ssda903_huge_field":
        path.mkdir()
        huge = SSDA903_HEADER.replace("HZ9002,M,", "HZ9002" + "9" * MB + ",M,")
        (path / "header.csv").write_text(huge)
        (path / "episodes.csv").write_text(SSDA903_EPISODES)
    elif name == "sn_huge_field.csv":
        header = "old_la_code,la_name," + ",".join(f"sn_{k},sn_{k}p" for k in range(1, 11))
        neighbours = ",".join(f"{900 + k},0.9" for k in range(1, 11))
        path.write_text(f"{header}\n841,{'D' * MB},{neighbours}\n")
    else:
        raise KeyError(name)
    return path


# --- writing the corpus ------------------------------------------------------------------------


def write_corpus(root: Path = CORPUS) -> list[Path]:
    """Write every case under ``root`` (emptied first); return the files written."""
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    written = []
    for case in cases():
        for relative, content in case.files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
    return written


def readme() -> str:
    lines = [
        "# Hostile and broken input corpus",
        "",
        "Files for `tests/test_hostile_input.py` (issue 8, part 6). Each breaks one of the small",
        "valid files written in `make_corpus.py` (fictional children, workers and providers) in",
        "one way. Re-make them with `python tests/hostile/make_corpus.py`; the test checks the",
        "committed files match. Every file gets a clear message, nothing crashes, memory and time",
        "stay bounded, and the store is unchanged unless valid records load.",
        "",
        "Outcomes: **refused** (unreadable: named with the reason, store unchanged), **ignored**",
        "(not a file the loader reads), **no records** (read, nothing to load, store unchanged),",
        "**set aside** (every record invalid and reported; nothing loads, store unchanged),",
        "**partial** (valid records load; the invalid ones are set aside and reported by file,",
        "row or line, field, value and expectation), **loaded** (everything loads; hostile text",
        "stays inert text, and exports defuse formulas).",
        "",
        "| File | Category | What it is | Outcome | Message contains |",
        "|---|---|---|---|---|",
    ]
    for case in cases():
        shown = case.message + (f"; upload: {case.upload_message}" if case.upload_message else "")
        lines.append(
            f"| `corpus/{case.name}{'/' if '/' in next(iter(case.files)) else ''}` | "
            f"{case.category} | {case.what} | {case.expect.replace('_', ' ')} | {shown} |"
        )
    lines += [
        "",
        "Huge files are made by the test in a temporary folder (not committed). Each also goes",
        "through the app's upload, which refuses a file over 200 MB before writing or reading it",
        f"(message: {UPLOAD_TOO_LARGE}).",
        "",
        "| File | What it is | Outcome | Message contains |",
        "|---|---|---|---|",
    ]
    for name, what, expect, message in HUGE_CASES:
        lines.append(f"| `{name}` | {what} | {expect} | {message} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    files = write_corpus()
    README.write_text(readme())
    total = sum(p.stat().st_size for p in files)
    print(f"{len(cases())} cases, {len(files)} files, {total:,} bytes under {CORPUS}")
