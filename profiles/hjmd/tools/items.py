"""Every item of the Health & Justice Minimum Dataset (dataset.md section 1), where it lives.

An item is (code, display, group, profile, FHIR path, value set or None, source lines). Items
whose profile is `obs` get an Observation profile of their own (`hjmd-obs-<code>`), with the item
code fixed in Observation.code and the value bound to the value set (`string` = free text).
"""

# group -> (data class, title)
GROUPS = {
    "identity": ("identity", "Identity"),
    "contact": ("contact", "Contact and interpreter"),
    "appropriate-adult": ("safeguarding", "Appropriate adult"),
    "vulnerability": ("safeguarding", "Vulnerability"),
    "physical": ("physical-summary", "Physical health summary"),
    "mh-summary": ("mh-summary", "Mental health summary"),
    "mh-clinical": ("mh-clinical", "Mental health clinical"),
    "self-harm": ("risk-self", "Self-harm and suicide"),
    "substance": ("substance", "Substance misuse"),
    "medication": ("medication", "Medication"),
    "risk-factors": ("risk-self", "Risk factors"),
    "violence": ("risk-others", "Violence and public protection"),
    "agencies": ("agencies", "Agencies involved"),
    "custody": ("detention", "Custody episode"),
    "prison": ("detention", "Prison episode"),
    "consent": ("consent", "Consent"),
    "provenance": (None, "Provenance"),
}

YNU = "hjmd-ynu"
P = "Patient"
ITEMS = [
    # identity
    ("name", "Names (official and usual)", "identity", "hjmd-patient", "Patient.name (use official | usual)", "hjmd-name-use", "[001:3750-3752]"),
    ("aliases", "Aliases used (many)", "identity", "hjmd-patient", "Patient.name (use old; nickname for known-as)", "hjmd-name-use", "[001:3754]"),
    ("date-of-birth", "Date of birth", "identity", "hjmd-patient", "Patient.birthDate", None, "[001:3756]"),
    ("sex", "Sex", "identity", "hjmd-patient", "Patient.gender", "hjmd-administrative-gender", "dataset.md"),
    ("nhs-number", "NHS number", "identity", "hjmd-patient", "Patient.identifier (system https://fhir.nhs.uk/Id/nhs-number)", None, "dataset.md"),
    ("pnc-id", "PNC ID", "identity", "hjmd-patient", "Patient.identifier (system .../Id/pnc-id)", None, "[001:4335-4386]"),
    ("cro-number", "CRO number", "identity", "hjmd-patient", "Patient.identifier (system .../Id/cro-number)", None, "dataset.md"),
    ("prison-number", "NOMIS prison number", "identity", "hjmd-patient", "Patient.identifier (system .../Id/nomis-prison-number)", None, "[001:4335-4341]"),
    ("custody-record-number", "Custody record / booking numbers", "identity", "hjmd-patient", "Patient.identifier (systems .../Id/custody-record-number, .../Id/nomis-booking-id)", None, "dataset.md"),
    ("local-clinical-id", "Local clinical ids (e.g. ePEX-like trust numbers)", "identity", "hjmd-patient", "Patient.identifier (system .../Id/local-clinical-id; inline label identity-clinical)", None, "[001:3760]"),
    # contact
    ("last-known-address", "Last known address", "contact", "hjmd-patient", "Patient.address (use home)", None, "[001:3766]"),
    ("directed-address", "Directed address (hostel, approved premises)", "contact", "hjmd-patient", "Patient.address (use temp)", None, "[001:3768]"),
    ("language", "Language spoken", "contact", "hjmd-patient", "Patient.communication.language", None, "[001:3764]"),
    ("interpreter-needed", "Interpreter needed", "contact", "hjmd-patient", "Patient.extension (UK Core NHSCommunication, interpreterRequired)", YNU, "[001:3762] [000:1044]"),
    ("preferred-contact", "Family / preferred contact", "contact", "hjmd-related-person", "RelatedPerson", None, "[001:3770]"),
    ("health-professional-contact", "Main health professional contact", "contact", "hjmd-health-contact", "PractitionerRole", None, "[001:3774]"),
    # appropriate adult
    ("aa-required", "Requires an appropriate adult if interviewed", "appropriate-adult", "obs", "Observation.value[x]", YNU, "[001:3798-3806]"),
    ("aa-previous-need", "Previous need for an appropriate adult", "appropriate-adult", "obs", "Observation.value[x]", YNU, "[000:1052-1053]"),
    ("aa-significant-other", "Preferred significant other to act as appropriate adult", "appropriate-adult", "obs", "Observation.value[x]", "hjmd-yes-no-preference", "[001:3772] [001:3808-3810]"),
    ("aa-professional", "Prefers a professional to act as appropriate adult", "appropriate-adult", "obs", "Observation.value[x]", "hjmd-yes-no-preference", "[001:3812-3813]"),
    ("aa-contact", "Appropriate adult contact", "appropriate-adult", "hjmd-appropriate-adult-person", "RelatedPerson", None, "[001:3810]"),
    ("aa-flag", "Appropriate adult alert", "appropriate-adult", "hjmd-safeguarding-flag", "Flag", None, "dataset.md"),
    # vulnerability
    ("learning-disability", "Learning disabilities or cognitive disorder", "vulnerability", "obs", "Observation.value[x]", YNU, "[001:3815] [000:1037-1038]"),
    ("vulnerable-dependents", "Vulnerable dependents and commitments (children, caring)", "vulnerability", "obs", "Observation.value[x]", YNU, "[000:1046-1047]"),
    # physical
    ("epilepsy", "History of epilepsy", "physical", "obs", "Observation.value[x]", YNU, "[001:3782]"),
    ("diabetes", "History of diabetes", "physical", "obs", "Observation.value[x]", YNU, "[001:3784]"),
    ("asthma", "History of asthma", "physical", "obs", "Observation.value[x]", YNU, "[001:3786]"),
    ("brain-injury", "History of brain injury", "physical", "obs", "Observation.value[x]", YNU, "[001:3788]"),
    ("heart-problems", "History of heart problems", "physical", "obs", "Observation.value[x]", YNU, "[001:3790]"),
    ("recent-ae-attendance", "Recent A&E attendance (72 hours)", "physical", "obs", "Observation.value[x] (+ Encounter hjmd-ae-attendance)", YNU, "[000:963-964]"),
    ("loss-of-consciousness", "Recent loss of consciousness (72 hours)", "physical", "obs", "Observation.value[x]", YNU, "[000:963-964]"),
    ("ae-attendance", "A&E attendance", "physical", "hjmd-ae-attendance", "Encounter", None, "[000:963-964]"),
    ("hospital-discharge", "Recent hospital discharge (e.g. after overdose)", "physical", "hjmd-hospital-discharge", "Encounter (class physical-clinical)", None, "[000:951-952]"),
    ("physical-flag", "Physical health alert", "physical", "hjmd-physical-flag", "Flag", None, "dataset.md"),
    # mental health summary
    ("mental-disorder-history", "History of mental disorder", "mh-summary", "obs", "Observation.value[x]", YNU, "[001:3817]"),
    ("previous-mh-problems", "Previous mental health problems", "mh-summary", "obs", "Observation.value[x]", YNU, "[001:3819]"),
    ("under-mh-services", "Currently under mental health services", "mh-summary", "obs", "Observation.value[x]", YNU, "[000:1213-1214] [000:1230-1231]"),
    ("mh-care-team", "Who: care co-ordinator, CPA", "mh-summary", "hjmd-mh-care-team", "CareTeam", None, "[001:9382-9401]"),
    # mental health clinical
    ("primary-diagnosis", "Primary mental health diagnosis", "mh-clinical", "hjmd-mh-diagnosis", "Condition.code (category primary)", "hjmd-mh-diagnosis", "[001:3841-3861]"),
    ("secondary-diagnosis", "Secondary mental health diagnosis", "mh-clinical", "hjmd-mh-diagnosis", "Condition.code (category secondary)", "hjmd-mh-diagnosis", "[001:3863-3879]"),
    ("mha-status", "Mental Health Act status", "mh-clinical", "obs", "Observation.value[x] (text)", "string", "[001:9382-9401]"),
    ("mha-history", "Mental Health Act history (previous detention)", "mh-clinical", "obs", "Observation.value[x]", YNU, "[001:9382-9401] [000:1732]"),
    ("non-concordance-treatment", "History of non-concordance with any treatment", "mh-clinical", "obs", "Observation.value[x]", YNU, "[001:3880]"),
    # self-harm and suicide
    ("self-harm-history", "History of self-harm (details of last in note)", "self-harm", "obs", "Observation.value[x]", YNU, "[001:3821] [001:3954-3956]"),
    ("self-harm-dates", "Significant dates linked to previous self-harm", "self-harm", "obs", "Observation.value[x]", YNU, "[001:3823-3825]"),
    ("suicide-attempt-history", "History of suicide attempts", "self-harm", "obs", "Observation.value[x]", YNU, "[001:3958]"),
    ("suicide-attempt-timing", "When relative to release (source value set missing)", "self-harm", "obs", "Observation.value[x] (text)", "string", "[001:3960]"),
    ("suicide-attempt-custody", "Whether in police or prison custody", "self-harm", "obs", "Observation.value[x]", "hjmd-custody-context", "[001:4898-4910]"),
    ("self-harm-hospital", "Self-harm requiring resuscitation or hospital", "self-harm", "obs", "Observation.value[x]", YNU, "[001:3961-3969]"),
    ("self-harm-flag", "Self-harm / suicide risk alert", "self-harm", "hjmd-risk-self-flag", "Flag", None, "dataset.md"),
    # substance
    ("substance-misuse-history", "History of substance misuse", "substance", "obs", "Observation.value[x]", YNU, "[001:3900] [001:3827]"),
    ("substance-type", "Type of substance (opiates / stimulants / other)", "substance", "obs", "Observation.value[x]", "hjmd-substance-type", "[001:3902-3908]"),
    ("problematic-withdrawal", "History of problematic withdrawal", "substance", "obs", "Observation.value[x]", YNU, "[001:3910]"),
    ("withdrawal-substance", "Problematic withdrawal: which substance", "substance", "obs", "Observation.value[x]", "hjmd-substance-type", "[001:3912-3918]"),
    ("alcohol-misuse", "Problematic alcohol misuse", "substance", "obs", "Observation.value[x]", YNU, "[001:3920]"),
    ("alcohol-withdrawal", "Problematic alcohol withdrawal", "substance", "obs", "Observation.value[x]", YNU, "[001:3922]"),
    ("ost-current", "Opiate substitution therapy current (prescriber in performer)", "substance", "obs", "Observation.value[x]", YNU, "[000:768-769]"),
    ("substance-flag", "Substance misuse alert", "substance", "hjmd-substance-flag", "Flag", None, "dataset.md"),
    # medication
    ("medication", "Medication on the day of release or current (class, details, as-of date)", "medication", "hjmd-medication-statement", "MedicationStatement", "hjmd-medication-class", "[001:3932-3944]"),
    ("non-concordance-psych-medication", "Non-concordance with psychiatric medication", "medication", "obs", "Observation.value[x]", YNU, "[001:3946]"),
    # risk factors
    ("triggers", "Individual triggers / warning signs", "risk-factors", "obs", "Observation.value[x] (text)", "string", "[001:3975]"),
    ("significant-dates", "Significant dates", "risk-factors", "obs", "Observation.value[x] (text)", "string", "[001:3977]"),
    # violence and public protection
    ("mappa", "Registered with MAPPA", "violence", "obs", "Observation.value[x]", YNU, "[001:3985]"),
    ("mappa-category", "MAPPA category (1/2/3)", "violence", "obs", "Observation.value[x]", "hjmd-mappa-category", "[001:3987-3993]"),
    ("mappa-level", "MAPPA level (1/2/3)", "violence", "obs", "Observation.value[x]", "hjmd-mappa-level", "[001:3995-4003]"),
    ("hramm", "Registered with HRAMM", "violence", "obs", "Observation.value[x]", YNU, "[001:4005]"),
    ("visor", "Registered with VISOR", "violence", "obs", "Observation.value[x]", YNU, "[001:4007]"),
    ("violence-history", "History of violence to others", "violence", "obs", "Observation.value[x]", YNU, "[001:4009]"),
    ("violence-category", "Violence categories that apply (many)", "violence", "obs", "Observation.value[x]", "hjmd-violence-category", "[001:4011-4031]"),
    ("serious-violence-history", "History of serious violence", "violence", "obs", "Observation.value[x]", YNU, "[001:4032]"),
    ("serious-violence-type", "Serious violence (weapons, sexual, arson, other)", "violence", "obs", "Observation.value[x]", "hjmd-serious-violence", "[001:4034-4046]"),
    ("discriminatory-attitudes", "Distorted or discriminatory attitudes", "violence", "obs", "Observation.value[x]", YNU, "[001:4048]"),
    ("discriminatory-towards", "Discriminatory attitudes towards (women, racial, homophobic, anti-authoritarian, other)", "violence", "obs", "Observation.value[x]", "hjmd-discriminatory-attitude", "[001:4050-4062]"),
    ("violence-flag", "Violence / public protection alert", "violence", "hjmd-risk-others-flag", "Flag", None, "dataset.md"),
    # agencies
    ("agency", "Agency involved (type)", "agencies", "hjmd-agency-team", "CareTeam.participant.role", "hjmd-agency-type", "[001:4070-4086]"),
    ("agency-details", "Agency name, address, telephone, out-of-hours contact", "agencies", "hjmd-agency-organization", "Organization", None, "[001:4088-4094]"),
    ("agency-contact", "Named agency worker", "agencies", "hjmd-agency-contact", "PractitionerRole", None, "[001:5299-5313]"),
    # custody
    ("arrival-time", "Arrival time", "custody", "hjmd-custody-episode", "Encounter.period.start", None, "dataset.md"),
    ("custody-suite", "Custody suite", "custody", "hjmd-custody-episode", "Encounter.location", None, "dataset.md"),
    ("arrest-reason", "Reason for arrest / interview", "custody", "hjmd-custody-episode", "Encounter.reasonCode", None, "[000:1049-1050]"),
    ("risk-assessment", "Risk assessment answers", "custody", "hjmd-custody-risk-assessment", "Observation", None, "dataset.md"),
    ("fit-to-detain", "Fit to detain decision", "custody", "obs", "Observation.value[x]", "hjmd-fitness", "dataset.md"),
    ("fit-to-interview", "Fit to interview decision", "custody", "obs", "Observation.value[x]", "hjmd-fitness", "dataset.md"),
    ("fit-to-release", "Fit to release decision", "custody", "obs", "Observation.value[x]", "hjmd-fitness", "dataset.md"),
    ("custody-release-time", "Release time", "custody", "hjmd-custody-episode", "Encounter.period.end", None, "dataset.md"),
    # prison
    ("reception-date", "Reception date", "prison", "hjmd-prison-episode", "Encounter.period.start", None, "dataset.md"),
    ("establishment", "Establishment", "prison", "hjmd-prison-episode", "Encounter.location (status active)", None, "dataset.md"),
    ("transfers", "Transfers", "prison", "hjmd-prison-episode", "Encounter.location (status completed)", None, "dataset.md"),
    ("legal-status", "Legal status (remand / sentenced)", "prison", "hjmd-prison-episode", "Encounter.type", "hjmd-legal-status", "dataset.md"),
    ("expected-release-date", "Expected release date", "prison", "hjmd-prison-episode", "Encounter.extension:expectedReleaseDate", None, "[000:1293-1295] [001:3758]"),
    ("release-destination", "Expected release destination", "prison", "hjmd-prison-episode", "Encounter.extension:releaseDestination", None, "[000:1293-1295]"),
    ("prison-release", "Release", "prison", "hjmd-prison-episode", "Encounter.period.end (status finished)", None, "dataset.md"),
    # consent
    ("consent-to-whom", "Consent or refusal: to whom", "consent", "hjmd-consent", "Consent.provision.actor", None, "dataset.md section 3"),
    ("consent-data-classes", "Which data classes", "consent", "hjmd-consent", "Consent.provision.securityLabel", "hjmd-data-class", "dataset.md section 3"),
    ("consent-purpose", "Purpose", "consent", "hjmd-consent", "Consent.provision.purpose", None, "dataset.md section 3"),
    ("consent-period", "Period", "consent", "hjmd-consent", "Consent.provision.period", None, "dataset.md section 3"),
    ("consent-withdrawal", "Withdrawal", "consent", "hjmd-consent", "Consent.status (inactive)", "hjmd-consent-state", "[001:4146] dataset.md section 3"),
    # provenance
    ("source-system", "Source system", "provenance", "hjmd-provenance", "Provenance.agent.who", None, "architecture.md"),
    ("source-event-time", "Source event time", "provenance", "hjmd-provenance", "Provenance.occurredDateTime", None, "architecture.md"),
    ("as-of-date", "As-of date", "provenance", "hjmd-observation", "Observation.effective[x]; MedicationStatement.dateAsserted", None, "dataset.md section 1"),
    ("details", "Details (short free text)", "provenance", "hjmd-observation", "Observation.note", None, "dataset.md section 1"),
]
