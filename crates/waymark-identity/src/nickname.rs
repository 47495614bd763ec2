//! Groups of given names that are the same name: a full name, its nicknames and spellings
//! (Robert, Bob, Rob, Bobby). A name may belong to several groups (Pat: Patrick, Patricia).

/// Each line one group, names normalised (upper-case letters).
const GROUPS: &[&[&str]] = &[
    &["ROBERT", "BOB", "ROB", "BOBBY", "ROBBIE", "BERT"],
    &["WILLIAM", "BILL", "WILL", "BILLY", "WILLIE", "LIAM"],
    &["JAMES", "JIM", "JIMMY", "JAMIE"],
    &["JOHN", "JACK", "JOHNNY", "JON", "JONNY"],
    &["JONATHAN", "JON", "JONNY"],
    &["MICHAEL", "MIKE", "MICK", "MICKEY", "MIKEY", "MICKY"],
    &["RICHARD", "RICK", "RICKY", "RICH", "RICHIE", "DICK"],
    &["THOMAS", "TOM", "TOMMY"],
    &["ANTHONY", "TONY", "ANT"],
    &["CHRISTOPHER", "CHRIS", "KIT"],
    &["DANIEL", "DAN", "DANNY"],
    &["DAVID", "DAVE", "DAVY"],
    &["EDWARD", "ED", "EDDIE", "TED", "TEDDY", "NED"],
    &["JOSEPH", "JOE", "JOEY"],
    &["MATTHEW", "MATT", "MATTY"],
    &["NICHOLAS", "NICK", "NICKY"],
    &["PETER", "PETE"],
    &["SAMUEL", "SAM", "SAMMY"],
    &["STEPHEN", "STEVEN", "STEVE", "STEVIE"],
    &["ALEXANDER", "ALEX", "ALEC", "SANDY"],
    &["ANDREW", "ANDY", "DREW"],
    &["BENJAMIN", "BEN", "BENNY"],
    &["CHARLES", "CHARLIE", "CHAS"],
    &["KENNETH", "KEN", "KENNY"],
    &["PATRICK", "PAT", "PADDY"],
    &["RAYMOND", "RAY"],
    &["RONALD", "RON", "RONNIE"],
    &["TIMOTHY", "TIM", "TIMMY"],
    &["JOSHUA", "JOSH"],
    &["PHILIP", "PHILLIP", "PHIL"],
    &["TERENCE", "TERRY", "TEL"],
    &["HENRY", "HARRY", "HAL"],
    &["GERALD", "GERRY", "JERRY"],
    &["LAWRENCE", "LAURENCE", "LARRY"],
    &["FREDERICK", "FRED", "FREDDIE"],
    &["MOHAMMED", "MUHAMMAD", "MOHAMMAD", "MOHAMED", "MO"],
    &["JENNIFER", "JEN", "JENNY"],
    &["ELIZABETH", "LIZ", "LIZZIE", "BETH", "BETTY", "ELIZA"],
    &["MARGARET", "MAGGIE", "PEGGY", "MEG"],
    &[
        "CATHERINE",
        "KATHERINE",
        "KATHRYN",
        "CATH",
        "CATHY",
        "KATHY",
        "KATE",
        "KATIE",
    ],
    &["REBECCA", "BECKY", "BECCA"],
    &["SAMANTHA", "SAM", "SAMMY"],
    &["VICTORIA", "VICKY", "VICKI", "TORI"],
    &["JACQUELINE", "JACKIE", "JACQUI"],
    &["DEBORAH", "DEBBIE", "DEBS"],
    &["SUSAN", "SUE", "SUSIE"],
    &["PATRICIA", "PAT", "TRISH", "TRICIA"],
    &["CHRISTINE", "CHRIS", "CHRISSIE"],
    &["AMANDA", "MANDY"],
    &["ABIGAIL", "ABBIE", "ABBY"],
    &["NICOLA", "NICKY", "NIKKI"],
    &["KIMBERLEY", "KIMBERLY", "KIM"],
    &["STEPHANIE", "STEPH"],
    &["JESSICA", "JESS"],
    &["DANIELLE", "DANI"],
    &["NATASHA", "TASHA"],
    &["CHARLOTTE", "CHARLIE", "LOTTIE"],
    &["ALISON", "ALLISON", "ALI"],
    &["MARY", "MOLLY", "POLLY"],
    &["ANNE", "ANN", "ANNIE"],
    &["SHAUN", "SEAN", "SHAWN"],
];

/// The groups a normalised given name belongs to, as a bit set (0: none).
pub(crate) fn groups(name: &str) -> u128 {
    GROUPS
        .iter()
        .enumerate()
        .filter(|(_, g)| g.contains(&name))
        .fold(0, |acc, (i, _)| acc | (1u128 << (i % 128)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_share_a_group() {
        assert!(GROUPS.len() <= 128);
        assert_ne!(groups("BOB") & groups("ROBERT"), 0);
        assert_ne!(groups("PAT") & groups("PATRICIA"), 0);
        assert_ne!(groups("PAT") & groups("PATRICK"), 0);
        assert_eq!(groups("PATRICK") & groups("PATRICIA"), 0);
        assert_eq!(groups("ZEBEDEE"), 0);
    }
}
