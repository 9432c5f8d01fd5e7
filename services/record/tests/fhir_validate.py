"""Validates a `Patient/$everything` Bundle with a FHIR library nobody here wrote.

Usage: fhir_validate.py <bundle.json> [--unmasked]

Parses the Bundle with `fhir.resources` 6.4.0, whose default package is FHIR R4 (4.0.1): every
entry is parsed into its resource class (types, cardinalities, required elements, primitive
patterns such as id, date, dateTime, uri, code). Then checks the rules of the R4 specification
that the model classes do not enforce, plus the hub's own profile (identifier system, masking).

Prints a JSON report on stdout: {"ok": bool, "fhir_version": ..., "counts": {...},
"problems": [...]}; exits 0 when ok, 1 otherwise.
"""

import json
import re
import sys

import fhir.resources
from fhir.resources.bundle import Bundle

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ENCOUNTER_CLASSES = {"AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR"}
GENDERS = {"male", "female", "other", "unknown"}
ENCOUNTER_STATUS = {
    "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
    "entered-in-error", "unknown",
}
OBSERVATION_STATUS = {
    "registered", "preliminary", "final", "amended", "corrected", "cancelled",
    "entered-in-error", "unknown",
}
CLINICAL_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
# A UCUM expression: no spaces, only the characters UCUM's grammar allows.
UCUM_CODE = re.compile(r"^[A-Za-z0-9.*/%\[\]{}()'^+-]+$")
ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
IMAGING_STATUS = {"registered", "available", "cancelled", "entered-in-error", "unknown"}
REPORT_STATUS = {
    "registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
    "cancelled", "entered-in-error", "unknown",
}
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
FULL_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


def check(raw, unmasked):
    problems = []

    def problem(where, what):
        problems.append(f"{where}: {what}")

    bundle = Bundle.parse_obj(raw)  # raises on any structural error
    if bundle.type != "searchset":
        problem("Bundle.type", f"expected searchset, got {bundle.type}")
    entries = bundle.entry or []
    if bundle.total is None or bundle.total != sum(
        1 for e in entries if e.search is None or e.search.mode == "match"
    ):
        problem("Bundle.total", f"{bundle.total} does not count the {len(entries)} matches")

    counts = {}
    by_ref = {}
    full_urls = set()
    for i, e in enumerate(entries):
        r = e.resource
        rt = r.resource_type
        counts[rt] = counts.get(rt, 0) + 1
        where = f"entry[{i}] {rt}"
        if not r.id:
            problem(where, "no id")
            continue
        ref = f"{rt}/{r.id}"
        if ref in by_ref:
            problem(where, f"duplicate resource {ref}")
        by_ref[ref] = r
        # bdl-7 and the rule that fullUrl is absolute and agrees with the resource id.
        if not e.fullUrl or not ABSOLUTE.match(e.fullUrl):
            problem(where, f"fullUrl must be an absolute URL, got {e.fullUrl!r}")
        elif not e.fullUrl.endswith("/" + ref):
            problem(where, f"fullUrl {e.fullUrl} disagrees with {ref}")
        if e.fullUrl in full_urls:
            problem(where, "duplicate fullUrl")
        full_urls.add(e.fullUrl)

    patients = [r for k, r in by_ref.items() if k.startswith("Patient/")]
    if len(patients) != 1:
        problem("Bundle", f"expected one Patient, found {len(patients)}")
    patient_ref = f"Patient/{patients[0].id}" if patients else None

    def subject(where, r, field="subject"):
        ref = getattr(r, field)
        if ref is None or ref.reference != patient_ref:
            problem(where, f"{field} must reference {patient_ref}, got {ref and ref.reference}")

    for key, r in by_ref.items():
        rt = r.resource_type
        where = key
        if rt == "Patient":
            if r.gender not in GENDERS:
                problem(where, f"gender {r.gender!r}")
            if r.birthDate is None:
                problem(where, "no birthDate")
            ids = [i for i in (r.identifier or []) if i.system == RESIDENT_ID_SYSTEM]
            if not ids:
                problem(where, f"no identifier with system {RESIDENT_ID_SYSTEM}")
            for ident in ids:
                full = bool(FULL_ID_NUMBER.match(ident.value or ""))
                if unmasked and not full:
                    problem(where, "the administrator should see the full ID number")
                if not unmasked and full:
                    problem(where, "the ID number is not masked")
            for t in r.telecom or []:
                if not unmasked and t.value and "*" not in t.value:
                    problem(where, "the phone is not masked")
        elif rt == "Encounter":
            subject(where, r)
            if r.status not in ENCOUNTER_STATUS:
                problem(where, f"status {r.status!r}")
            c = r.class_fhir
            if c is None or c.system != ACT_CODE or c.code not in ENCOUNTER_CLASSES:
                problem(where, f"class must be a v3-ActCode Coding, got {c and c.dict()}")
        elif rt == "Condition":
            subject(where, r)
            cs = r.clinicalStatus
            if cs is None or not any(
                c.system == CLINICAL and c.code in CLINICAL_STATUS for c in cs.coding or []
            ):
                problem(where, "clinicalStatus must be coded with condition-clinical")
            vs = r.verificationStatus
            if vs is not None and not any(c.system == VERIFICATION for c in vs.coding or []):
                problem(where, "verificationStatus must be coded with condition-ver-status")
            if r.code is None or not any(c.system and c.code for c in r.code.coding or []):
                problem(where, "code must carry a Coding with system and code")
            if r.encounter is not None and r.encounter.reference not in by_ref:
                problem(where, f"encounter {r.encounter.reference} is not in the Bundle")
        elif rt == "Observation":
            subject(where, r)
            if r.status not in OBSERVATION_STATUS:
                problem(where, f"status {r.status!r}")
            if r.code is None or not any(c.system and c.code for c in r.code.coding or []):
                problem(where, "code must carry a Coding with system and code")
            q = r.valueQuantity
            if q is not None:
                if q.value is None:
                    problem(where, "valueQuantity without value")
                if q.code is not None and q.system is None:
                    problem(where, "qty-3: a Quantity code needs a system")
                if q.unit is not None and UCUM_CODE.match(q.unit) and q.system != UCUM:
                    problem(where, f"unit {q.unit!r} is written as UCUM but not coded in UCUM")
                if q.system == UCUM and not UCUM_CODE.match(q.code or ""):
                    problem(where, f"UCUM code {q.code!r} is not a UCUM expression")
            if r.encounter is not None and r.encounter.reference not in by_ref:
                problem(where, f"encounter {r.encounter.reference} is not in the Bundle")
            for rr in r.referenceRange or []:
                if rr.low is None and rr.high is None and rr.text is None:
                    problem(where, "obs-3: referenceRange needs low, high or text")
        elif rt == "ImagingStudy":
            subject(where, r)
            if r.status not in IMAGING_STATUS:
                problem(where, f"status {r.status!r}")
            for m in r.modality or []:
                if m.system != DICOM_DCM or not m.code:
                    problem(where, f"modality must be coded in DICOM DCM, got {m.dict()}")
            for ident in r.identifier or []:
                if ident.system == "urn:dicom:uid" and not DICOM_UID.match(ident.value or ""):
                    problem(where, f"study UID {ident.value!r} is not urn:oid:<dotted digits>")
        elif rt == "DiagnosticReport":
            subject(where, r)
            if r.status not in REPORT_STATUS:
                problem(where, f"status {r.status!r}")
            for ref in r.imagingStudy or []:
                if ref.reference not in by_ref:
                    problem(where, f"imagingStudy {ref.reference} is not in the Bundle")
        elif rt == "ExplanationOfBenefit":
            subject(where, r, "patient")
            if r.outcome not in ("queued", "complete", "error", "partial"):
                problem(where, f"outcome {r.outcome!r}")
            for t in r.total or []:
                if t.amount is None or t.amount.currency != "CNY" or t.amount.value is None:
                    problem(where, "every total needs an amount in CNY")

    return {
        "ok": not problems,
        "library": f"fhir.resources {fhir.resources.__version__}",
        "fhir_version": fhir.resources.__fhir_version__,
        "counts": counts,
        "problems": problems,
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        raw = json.load(f)
    try:
        report = check(raw, "--unmasked" in sys.argv[2:])
    except Exception as e:  # a parse failure is a finding, reported like the others
        report = {"ok": False, "problems": [f"parse: {e}"]}
    print(json.dumps(report, ensure_ascii=False))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
