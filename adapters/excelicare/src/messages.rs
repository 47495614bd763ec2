//! ExceliCare's HL7 v2.5.1 messages about one visit, as ER7 text: ADT^A04 (registration),
//! ORU^R01 (assessment), RAS^O17 (medication given), REF^I12 (referral to liaison and
//! diversion) and ADT^A08 (update). Text is escaped; names repeat (aliases, known-as); every
//! message carries the `ZCU` custody segment.

use chrono::{DateTime, Duration, Utc};
use waymark_synth::{NameUse, Observation, Sex};

use crate::{
    clinical::{Visit, Ynu},
    er7::{Delimiters, escape},
};

/// MSH-3 of every message the mock sends.
pub const SENDING_APPLICATION: &str = "EXCELICARE";

/// What a message is, for labels and the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ADT^A04.
    Register,
    /// ORU^R01.
    Assessment,
    /// RAS^O17.
    Medication,
    /// REF^I12.
    Referral,
    /// ADT^A08.
    Update,
}

impl Kind {
    /// MSH-9.
    pub fn msh9(self) -> &'static str {
        match self {
            Self::Register => "ADT^A04^ADT_A01",
            Self::Assessment => "ORU^R01^ORU_R01",
            Self::Medication => "RAS^O17^RAS_O17",
            Self::Referral => "REF^I12^REF_I12",
            Self::Update => "ADT^A08^ADT_A01",
        }
    }

    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Register => "adt-a04",
            Self::Assessment => "oru-r01",
            Self::Medication => "ras-o17",
            Self::Referral => "ref-i12",
            Self::Update => "adt-a08",
        }
    }
}

/// One message to build.
pub struct Draft<'a> {
    /// Whom it is about, as ExceliCare recorded them.
    pub observation: &'a Observation,
    /// What the visit found.
    pub visit: &'a Visit,
    /// Which message.
    pub kind: Kind,
    /// MSH-10.
    pub control_id: &'a str,
    /// When (MSH-7).
    pub at: DateTime<Utc>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S+0000").to_string()
}

fn e(text: &str) -> String {
    escape(text, &Delimiters::default())
}

impl Draft<'_> {
    /// The message as ER7 (segments ended by CR).
    pub fn build(&self) -> Vec<u8> {
        let mut segments = vec![self.msh()];
        match self.kind {
            Kind::Register | Kind::Update => {
                segments.push(format!("EVN|{}|{}", &self.kind.msh9()[4..7], ts(self.at)));
                segments.push(self.pid());
                segments.push(self.pv1());
            }
            Kind::Assessment => {
                segments.push(self.pid());
                segments.push(self.pv1());
                segments.extend(self.oru_body());
            }
            Kind::Medication => {
                segments.push(self.pid());
                segments.extend(self.ras_body());
            }
            Kind::Referral => {
                segments.extend(self.ref_head());
                segments.push(self.pid());
            }
        }
        segments.push(self.zcu());
        let mut text = segments.join("\r");
        text.push('\r');
        text.into_bytes()
    }

    fn msh(&self) -> String {
        format!(
            "MSH|^~\\&|{SENDING_APPLICATION}|{}|WAYMARK|HUB|{}||{}|{}|P|2.5.1|||AL|NE|GBR",
            self.visit.suite,
            ts(self.at),
            self.kind.msh9(),
            self.control_id
        )
    }

    fn pid(&self) -> String {
        let o = self.observation;
        let mut ids = vec![format!("{}^^^EXCELICARE^PI", e(o.local_id()))];
        if let Some(nhs) = o.nhs_number() {
            ids.push(format!("{}^^^NHS^NH", e(nhs)));
        }
        let names: Vec<String> = o
            .names()
            .iter()
            .map(|n| {
                let type_code = match n.name_use {
                    NameUse::Official => "L",
                    NameUse::Nickname => "N",
                    _ => "A",
                };
                let given = n.given.first().map(|g| e(g)).unwrap_or_default();
                let middle = n.given.get(1..).unwrap_or_default().join(" ");
                format!("{}^{given}^{}^^^^{type_code}", e(&n.family), e(&middle))
            })
            .collect();
        let sex = match o.sex() {
            Some(Sex::Male) => "M",
            Some(Sex::Female) => "F",
            None => "U",
        };
        let address = o.postcode().map(|pc| {
            let pick = o.local_id().bytes().map(usize::from).sum::<usize>();
            let street = STREETS[pick % STREETS.len()];
            format!("{}^^Leeds^^{}^GBR^H", e(street), e(pc))
        });
        format!(
            "PID|1||{}||{}||{}|{sex}|||{}",
            ids.join("~"),
            names.join("~"),
            o.birth_date().format("%Y%m%d"),
            address.unwrap_or_default()
        )
    }

    fn pv1(&self) -> String {
        format!(
            "PV1|1|O|{s}^^^{s}||||||||||||||||V{}",
            self.control_id,
            s = self.visit.suite
        )
    }

    fn oru_body(&self) -> Vec<String> {
        let v = self.visit;
        let t = ts(self.at);
        let mut obx: Vec<(String, String, String)> = Vec::new();
        let physical = [
            ("EPI", "Epilepsy"),
            ("DIAB", "Diabetes"),
            ("ASTH", "Asthma"),
            ("HEART", "Heart problems"),
        ];
        for ((code, name), answer) in physical.iter().zip(v.physical) {
            obx.push(cwe_ynu(code, name, answer));
        }
        obx.push(cwe_ynu(
            "PMH",
            "Previous mental health problems",
            v.previous_mh,
        ));
        obx.push(cwe_ynu(
            "UMHS",
            "Under mental health services",
            v.under_mh_services,
        ));
        if let Some((code, name)) = v.diagnosis {
            let value = format!("{code}^{}^I10", e(name));
            obx.push((
                "CWE".into(),
                "MHDX^Mental health diagnosis^EXC".into(),
                value,
            ));
        }
        if let Some(code) = v.substance {
            let value = format!("{code}^{}^EXCSUB", substance_name(code));
            obx.push(("CWE".into(), "SUBT^Substance used^EXC".into(), value));
        }
        obx.push(cwe_ynu("AWD", "Alcohol withdrawal", v.alcohol_withdrawal));
        if let Some(score) = v.cows {
            let name = "COWS^Clinical Opiate Withdrawal Scale score^EXC";
            obx.push(("NM".into(), name.into(), score.to_string()));
        }
        if let Some(score) = v.ciwa {
            let name = "CIWA^CIWA-Ar alcohol withdrawal score^EXC";
            obx.push(("NM".into(), name.into(), score.to_string()));
        }
        let mut out = vec![format!(
            "OBR|1|{c}|{c}|HCA^Custody health assessment^EXC|||{t}",
            c = self.control_id
        )];
        out.extend(obx.iter().enumerate().map(|(i, (kind, code, value))| {
            format!("OBX|{}|{kind}|{code}||{value}||||||F|||{t}", i + 1)
        }));
        out.push(format!("NTE|1|L|{}", e(NOTE)));
        out
    }

    fn ras_body(&self) -> Vec<String> {
        let Some(d) = self.visit.medication else {
            return Vec::new();
        };
        let t = ts(self.at);
        vec![
            format!("ORC|RE|{c}|{c}", c = self.control_id),
            format!(
                "RXA|0|1|{t}|{t}|{}^{}^EXCDRUG|{}|{}^^UCUM||||||||||||CP",
                d.code,
                e(d.name),
                d.amount,
                d.unit
            ),
            format!("RXR|{}^{}^HL70162", d.route, route_name(d.route)),
        ]
    }

    fn ref_head(&self) -> Vec<String> {
        let t = ts(self.at);
        vec![
            format!(
                "RF1|P^Pending^HL70283|R^Routine^HL70280|LD^Liaison and diversion^EXCREF|||{}|{t}",
                self.control_id
            ),
            "PRD|RT^Referred to provider^HL70286|Liaison \\T\\ Diversion Service^^^^^^L".into(),
        ]
    }

    fn zcu(&self) -> String {
        format!(
            "ZCU|1|{}|HCP^Custody healthcare practitioner|{}",
            self.visit.suite,
            ts(self.visit.registered)
        )
    }
}

fn cwe_ynu(code: &str, name: &str, answer: Ynu) -> (String, String, String) {
    let system = if answer == Ynu::Unknown {
        "NULLFL"
    } else {
        "HL70136"
    };
    (
        "CWE".into(),
        format!("{code}^{name}^EXC"),
        format!("{}^{}^{system}", answer.code(), answer.display()),
    )
}

fn substance_name(code: &str) -> &'static str {
    match code {
        "OPI" => "Opiates",
        "STI" => "Stimulants",
        _ => "Other substance",
    }
}

fn route_name(code: &str) -> &'static str {
    match code {
        "SL" => "Sublingual",
        _ => "Oral",
    }
}

/// A free-text note using every escape sequence.
pub const NOTE: &str = "Seen in cell 4 | pain 3/10 ^ A&E advised ~ path C:\\notes\nreview 4h";

/// Street lines (some need escaping).
const STREETS: [&str; 4] = [
    "12 Mill Lane",
    "Flat 3 & 4 Station Road",
    "7 Church Street",
    "The Lodge ^ Park View",
];

/// Times of a visit's messages, in order, `minutes` apart at least.
pub fn after(t: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    t + Duration::minutes(minutes)
}
