"""Code systems and value sets of the HJMD package (generate.py writes them).

Each value set lists its values exactly as the source documents do, with the requirements.md
line references ([001:NNNN] = MAIS pilot report, [000:NNNN] = East of England survey) in its
description. INFERENCE marks a value set the sources do not list.
"""

B = "https://fhir.waymark.org.uk/"
V2_0136 = "http://terminology.hl7.org/CodeSystem/v2-0136"
NULLFLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
UNK = (NULLFLAVOR, "UNK", "unknown")
YES = (V2_0136, "Y", "Yes")
NO = (V2_0136, "N", "No")

# id -> (title, description, [(code, display)])
CODE_SYSTEMS = {
    "hjmd-data-class": ("HJMD data class", "The hub's data classes (dataset.md section 1), the security labels the role policy is written against.", [
        ("identity", "Identity"), ("identity-clinical", "Identity: local clinical ids"), ("contact", "Contact and interpreter"),
        ("safeguarding", "Appropriate adult and vulnerability"), ("physical-summary", "Physical health summary"),
        ("physical-clinical", "Physical health clinical detail"), ("mh-summary", "Mental health summary"),
        ("mh-clinical", "Mental health clinical"), ("risk-self", "Self-harm, suicide and risk factors"),
        ("substance", "Substance misuse"), ("medication", "Medication"), ("risk-others", "Violence and public protection"),
        ("agencies", "Agencies involved"), ("detention", "Custody and prison episodes"), ("consent", "Consent")]),
    "hjmd-preference": ("HJMD preference", "The 'no preference' answer of the appropriate-adult preference items [001:3808-3813].", [
        ("no-preference", "No preference")]),
    "hjmd-mh-diagnosis": ("HJMD mental health diagnosis", "MAIS Table 2 T4 primary / secondary mental health diagnosis [001:3841-3879]; 'other' carries free text (Condition.code.text), e.g. drug-induced psychosis, Asperger's [001:4178-4206].", [
        ("schizophrenia", "Schizophrenia/other delusional disorders"), ("bipolar", "Bipolar affective disorder"),
        ("depressive", "Depressive illness"), ("anxiety", "Anxiety disorders"), ("dementia", "Dementia"),
        ("personality", "Personality disorder"), ("organic", "Organic disorder"), ("learning-disabilities", "Learning disabilities"),
        ("other", "Other")]),
    "hjmd-diagnosis-rank": ("HJMD diagnosis rank", "Primary or secondary mental health diagnosis [001:3841-3879].", [
        ("primary", "Primary"), ("secondary", "Secondary")]),
    "hjmd-substance-type": ("HJMD substance type", "MAIS T5 type of substance / problematic withdrawal [001:3902-3918]; 'unknown' is NullFlavor UNK.", [
        ("opiates", "Opiates"), ("stimulants", "Stimulants"), ("other", "Other")]),
    "hjmd-medication-class": ("HJMD medication class", "MAIS T6 prescription (medication class) [001:3932-3942].", [
        ("antipsychotics", "Antipsychotics"), ("antidepressants", "Anti-depressants"), ("anti-anxiety", "Anti-anxiety"),
        ("hypnotics-sedatives", "Hypnotics/sedatives"), ("mood-stabilisers", "Mood stabilisers"),
        ("opiate-substitution", "Opiate substitution"), ("other", "Other")]),
    "hjmd-mappa-category": ("HJMD MAPPA category", "MAIS T9 MAPPA category [001:3987-3993], definitions [001:1976-2039]; 'unknown' is NullFlavor UNK.", [
        ("category-1", "Category 1 (registered sex offenders)"), ("category-2", "Category 2 (violent offenders, 12 months or more, under supervision)"),
        ("category-3", "Category 3 (other dangerous offenders)")]),
    "hjmd-mappa-level": ("HJMD MAPPA level", "MAIS T9 MAPPA level [001:3995-4003]; 'unknown' is NullFlavor UNK.", [
        ("level-1", "Level 1 (ordinary risk management)"), ("level-2", "Level 2 (local inter-agency management)"),
        ("level-3", "Level 3 (MAPPP, Multi-Agency Public Protection Panel)")]),
    "hjmd-violence-category": ("HJMD violence category", "MAIS T9 history of violence to others, categories that apply (multiple) [001:4011-4031].", [
        ("env-police", "Environmental: police"), ("env-prison", "Environmental: prison"), ("env-probation", "Environmental: probation"),
        ("authority", "Those in authority"), ("racial", "Racial"), ("strangers", "Strangers"), ("family", "Family members"),
        ("partners", "Relationships/significant others"), ("other", "Other (specify)")]),
    "hjmd-serious-violence": ("HJMD serious violence", "MAIS T9 history of serious violence [001:4034-4046]; 'unknown' is NullFlavor UNK.", [
        ("weapons", "Carrying weapons"), ("sexual", "Sexual violence"), ("arson", "Arson"), ("other", "Other")]),
    "hjmd-discriminatory-attitude": ("HJMD discriminatory attitude", "MAIS T9 distorted or discriminatory attitudes, towards [001:4050-4062].", [
        ("women", "Women (e.g. sexualised attitude)"), ("racial", "Racial"), ("homophobic", "Homophobic"),
        ("anti-authoritarian", "Anti-authoritarian"), ("other", "Other")]),
    "hjmd-agency-type": ("HJMD agency type", "MAIS T10 agencies currently involved [001:4070-4086].", [
        ("gp", "Registered with community GP"), ("cjlt", "Criminal Justice Liaison Team (liaison and diversion)"),
        ("cmht", "Community Mental Health Team"), ("cpa", "Receiving CPA"), ("crisis", "Crisis Intervention Team"),
        ("substance-service", "Community substance misuse agencies"), ("probation", "Probation"),
        ("social-worker", "Social worker"), ("neighbourhood-police", "Neighbourhood police")]),
    "hjmd-episode-class": ("HJMD episode class", "The kind of detention episode (dataset.md section 1, custody and prison episodes).", [
        ("custody", "Police custody"), ("prison", "Prison stay")]),
    "hjmd-legal-status": ("HJMD legal status", "Legal status in prison (dataset.md section 1: remand / sentenced). INFERENCE: the two values the brief names.", [
        ("remand", "Remand"), ("sentenced", "Sentenced")]),
    "nomis-legal-status": ("NOMIS legal status", "Prison API legalStatus values as NOMIS sends them (carried by the NOMIS mapping).", [
        ("RECALL", "Recall"), ("DEAD", "Dead"), ("INDETERMINATE_SENTENCE", "Indeterminate sentence"), ("SENTENCED", "Sentenced"),
        ("CONVICTED_UNSENTENCED", "Convicted unsentenced"), ("CIVIL_PRISONER", "Civil prisoner"),
        ("IMMIGRATION_DETAINEE", "Immigration detainee"), ("REMAND", "Remand"), ("UNKNOWN", "Unknown"), ("OTHER", "Other")]),
    "hjmd-fitness": ("HJMD fitness decision", "Fit to detain / interview / release decisions (dataset.md section 1, custody episode). INFERENCE: the sources name the decisions, not their values.", [
        ("fit", "Fit"), ("not-fit", "Not fit"), ("fit-with-conditions", "Fit with conditions (e.g. appropriate adult, healthcare review)")]),
    "hjmd-custody-context": ("HJMD custody context", "Whether a suicide attempt happened in police or prison custody [001:4898-4910].", [
        ("police-custody", "In police custody"), ("prison-custody", "In prison custody"), ("community", "In the community")]),
    "hjmd-contact-purpose": ("HJMD contact purpose", "Agency contact kinds (MAIS T10 out of hours contact details [001:4094]).", [
        ("out-of-hours", "Out of hours contact")]),
    "hjmd-source-event": ("HJMD source event", "What the source said happened (dataset.md section 4 topics), Bundle.meta.tag.", [
        ("custody.arrival", "Arrival in police custody"), ("custody.fit-decision", "Fit decision recorded"),
        ("custody.release", "Released from police custody"), ("court.warning", "Court warning"),
        ("prison.reception", "Received into prison"), ("prison.transfer", "Transferred between prisons"),
        ("prison.release-planned", "Release planned"), ("prison.release", "Released from prison"),
        ("risk.flag-raised", "Risk flag raised"), ("risk.flag-ended", "Risk flag ended"),
        ("medication.opiate-substitution", "Opiate substitution started or changed"),
        ("health.discharge-after-overdose", "Hospital discharge after overdose"), ("record.updated", "Record updated"),
        ("consent.changed", "Consent changed")]),
}


def vs_whole(cs):
    return [{"system": B + "CodeSystem/" + cs}]


def vs_enum(*codes):
    """Enumerated concepts [(system, code, display)], grouped by system."""
    groups = {}
    for system, code, display in codes:
        groups.setdefault(system, []).append({"code": code, "display": display})
    return [{"system": s, "concept": c} for s, c in groups.items()]


def cs_plus_unk(cs):
    return vs_whole(cs) + vs_enum(UNK)


FHIR = "http://hl7.org/fhir/"
# id -> (title, description, compose.include)
VALUE_SETS = {
    "hjmd-ynu": ("Yes / no / unknown", "YNU: HL7 v2 table 0136 Y/N plus NullFlavor UNK. The MAIS value-set convention [001:3676-3680]; every 'Yes/no/unknown' item of Table 2 [001:3740-4094].", vs_enum(YES, NO, UNK)),
    "hjmd-yes-no-preference": ("Yes / no / no preference", "Appropriate-adult preference items [001:3808-3813].", vs_enum(YES, NO) + vs_whole("hjmd-preference")),
    "hjmd-mh-diagnosis": ("Mental health diagnosis", CODE_SYSTEMS["hjmd-mh-diagnosis"][1], vs_whole("hjmd-mh-diagnosis")),
    "hjmd-diagnosis-rank": ("Diagnosis rank", CODE_SYSTEMS["hjmd-diagnosis-rank"][1], vs_whole("hjmd-diagnosis-rank")),
    "hjmd-substance-type": ("Substance type", CODE_SYSTEMS["hjmd-substance-type"][1], cs_plus_unk("hjmd-substance-type")),
    "hjmd-medication-class": ("Medication class", CODE_SYSTEMS["hjmd-medication-class"][1], vs_whole("hjmd-medication-class")),
    "hjmd-mappa-category": ("MAPPA category", CODE_SYSTEMS["hjmd-mappa-category"][1], cs_plus_unk("hjmd-mappa-category")),
    "hjmd-mappa-level": ("MAPPA level", CODE_SYSTEMS["hjmd-mappa-level"][1], cs_plus_unk("hjmd-mappa-level")),
    "hjmd-violence-category": ("Violence category", CODE_SYSTEMS["hjmd-violence-category"][1], vs_whole("hjmd-violence-category")),
    "hjmd-serious-violence": ("Serious violence", CODE_SYSTEMS["hjmd-serious-violence"][1], cs_plus_unk("hjmd-serious-violence")),
    "hjmd-discriminatory-attitude": ("Discriminatory attitude", CODE_SYSTEMS["hjmd-discriminatory-attitude"][1], vs_whole("hjmd-discriminatory-attitude")),
    "hjmd-agency-type": ("Agency type", CODE_SYSTEMS["hjmd-agency-type"][1], vs_whole("hjmd-agency-type")),
    "hjmd-episode-class": ("Episode class", CODE_SYSTEMS["hjmd-episode-class"][1], vs_whole("hjmd-episode-class")),
    "hjmd-legal-status": ("Legal status", "Legal status in prison: the HJMD values and the NOMIS values they are mapped from (ConceptMap nomis-legal-status-to-hjmd).", vs_whole("hjmd-legal-status") + vs_whole("nomis-legal-status")),
    "hjmd-fitness": ("Fitness decision", CODE_SYSTEMS["hjmd-fitness"][1], vs_whole("hjmd-fitness")),
    "hjmd-custody-context": ("Custody context", CODE_SYSTEMS["hjmd-custody-context"][1], cs_plus_unk("hjmd-custody-context")),
    "hjmd-data-class": ("Data class", CODE_SYSTEMS["hjmd-data-class"][1], vs_whole("hjmd-data-class")),
    "hjmd-contact-purpose": ("Contact purpose", CODE_SYSTEMS["hjmd-contact-purpose"][1], vs_whole("hjmd-contact-purpose")),
    "hjmd-source-event": ("Source event", CODE_SYSTEMS["hjmd-source-event"][1], vs_whole("hjmd-source-event")),
    "hjmd-name-use": ("Name use", "FHIR name-use codes the dataset uses: official and usual names; aliases (many) [001:3754] as `old` (a name used but not the person's own, kept for matching); street names / known-as as `nickname`; maiden names.", vs_enum(*[(FHIR + "name-use", c, c) for c in ["official", "usual", "old", "nickname", "maiden", "temp"]])),
    "hjmd-administrative-gender": ("Administrative gender", "FHIR administrative-gender (UK Core binds the same codes).", vs_enum(*[(FHIR + "administrative-gender", c, c) for c in ["male", "female", "other", "unknown"]])),
    "hjmd-encounter-status": ("Encounter status", "FHIR R4 encounter-status.", vs_enum(*[(FHIR + "encounter-status", c, c) for c in ["planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"]])),
    "hjmd-flag-status": ("Flag status", "FHIR R4 flag-status.", vs_enum(*[(FHIR + "flag-status", c, c) for c in ["active", "inactive", "entered-in-error"]])),
    "hjmd-observation-status": ("Observation status", "FHIR R4 observation-status.", vs_enum(*[(FHIR + "observation-status", c, c) for c in ["registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"]])),
    "hjmd-medication-statement-status": ("Medication statement status", "FHIR R4 medication-statement-status.", vs_enum(*[("http://hl7.org/fhir/CodeSystem/medication-statement-status", c, c) for c in ["active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"]])),
    "hjmd-consent-state": ("Consent state", "FHIR R4 consent-state-codes; `inactive` records a withdrawal.", vs_enum(*[(FHIR + "consent-state-codes", c, c) for c in ["draft", "proposed", "active", "rejected", "inactive", "entered-in-error"]])),
    "hjmd-consent-provision-type": ("Consent provision type", "FHIR R4 consent-provision-type: permit (consent) or deny (refusal).", vs_enum(*[(FHIR + "consent-provision-type", c, c) for c in ["deny", "permit"]])),
    "hjmd-relationship": ("Contact relationship", "v3 RoleCode personal relationships (external; the binding is extensible and not checked here).", [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode"}]),
}
