//! Embedded name lists: common English given names per sex and family names, each with a rough
//! relative frequency, so that common names (Smith, Jones, David, Sarah) are common and some
//! people share a name by chance, as they do.
//!
//! Family names: the most frequent surnames of England and Wales with weights close to their
//! shares (Smith about 1.3 %), then a long tail of toponymic surnames composed from a prefix
//! and a suffix (Ashworth, Kingsley, Thornfield), so the tail is as long and flat as a real one.

/// A name and its relative frequency.
pub(crate) type Weighted = (&'static str, u32);

/// Given names of men, most common first.
#[rustfmt::skip]
pub(crate) const MALE: &[Weighted] = &[
    ("David", 320), ("John", 300), ("Michael", 290), ("Paul", 250), ("Mark", 240),
    ("James", 240), ("Andrew", 210), ("Richard", 180), ("Daniel", 180), ("Christopher", 170),
    ("Robert", 170), ("Peter", 150), ("Stephen", 150), ("Thomas", 140), ("Matthew", 140),
    ("Lee", 130), ("Darren", 120), ("Craig", 110), ("Jason", 110), ("Wayne", 100),
    ("Dean", 100), ("Carl", 100), ("Gary", 100), ("Kevin", 100), ("Ian", 100),
    ("Anthony", 100), ("Simon", 90), ("Martin", 90), ("Neil", 80), ("Stuart", 80),
    ("Adam", 80), ("Ryan", 80), ("Luke", 70), ("Jamie", 70), ("Liam", 70),
    ("Joshua", 60), ("Jack", 60), ("Benjamin", 60), ("Samuel", 60), ("Jordan", 50),
    ("Kieran", 50), ("Callum", 50), ("Connor", 50), ("Nathan", 50), ("Aaron", 50),
    ("Scott", 50), ("Shaun", 50), ("Ricky", 40), ("Lewis", 40), ("Jake", 40),
    ("Joseph", 50), ("Alexander", 40), ("George", 40), ("William", 60), ("Charles", 30),
    ("Edward", 30), ("Henry", 20), ("Harry", 30), ("Oliver", 30), ("Tyler", 30),
    ("Kyle", 40), ("Brandon", 30), ("Reece", 30), ("Bradley", 30), ("Mohammed", 50),
    ("Ali", 20), ("Ahmed", 20), ("Hassan", 15), ("Omar", 15), ("Imran", 15),
    ("Tariq", 10), ("Kwame", 10), ("Delroy", 10), ("Leon", 30), ("Marcus", 30),
    ("Tony", 40), ("Steven", 120), ("Philip", 60), ("Jonathan", 60), ("Nicholas", 60),
    ("Timothy", 40), ("Patrick", 30), ("Sean", 40), ("Barry", 40), ("Terry", 30),
    ("Keith", 40), ("Colin", 40), ("Graham", 40), ("Alan", 50), ("Brian", 40),
    ("Derek", 20), ("Raymond", 30), ("Trevor", 20), ("Roy", 20), ("Dennis", 15),
    ("Gordon", 15), ("Malcolm", 15), ("Kenneth", 20), ("Ronald", 15), ("Frank", 15),
    ("Arthur", 10), ("Billy", 30), ("Danny", 40), ("Jay", 30), ("Elliot", 20),
    ("Mason", 20), ("Dylan", 20), ("Declan", 20), ("Owen", 20), ("Rhys", 20),
    ("Karl", 30), ("Gavin", 30), ("Russell", 20), ("Damien", 20), ("Jermaine", 10),
];

/// Given names of women, most common first.
#[rustfmt::skip]
pub(crate) const FEMALE: &[Weighted] = &[
    ("Sarah", 300), ("Emma", 220), ("Laura", 200), ("Claire", 180), ("Lisa", 180),
    ("Nicola", 170), ("Michelle", 170), ("Kelly", 160), ("Rebecca", 150), ("Amy", 140),
    ("Hayley", 120), ("Gemma", 120), ("Stacey", 110), ("Leanne", 110), ("Donna", 100),
    ("Joanne", 100), ("Karen", 100), ("Julie", 100), ("Tracey", 90), ("Susan", 90),
    ("Jennifer", 80), ("Elizabeth", 80), ("Catherine", 70), ("Katherine", 50), ("Helen", 80),
    ("Rachel", 80), ("Louise", 80), ("Victoria", 80), ("Samantha", 90), ("Charlotte", 70),
    ("Jessica", 60), ("Hannah", 60), ("Chloe", 60), ("Lauren", 60), ("Sophie", 50),
    ("Natalie", 60), ("Jade", 60), ("Danielle", 60), ("Kirsty", 50), ("Zoe", 40),
    ("Amanda", 60), ("Angela", 50), ("Deborah", 50), ("Jacqueline", 40), ("Dawn", 40),
    ("Sharon", 50), ("Tina", 30), ("Wendy", 30), ("Carol", 30), ("Patricia", 30),
    ("Margaret", 30), ("Linda", 30), ("Christine", 40), ("Janet", 20), ("Jane", 40),
    ("Mary", 30), ("Anne", 20), ("Alison", 40), ("Caroline", 40), ("Emily", 40),
    ("Megan", 40), ("Ellie", 30), ("Holly", 30), ("Abigail", 30), ("Bethany", 30),
    ("Shannon", 30), ("Courtney", 30), ("Jodie", 40), ("Kimberley", 30), ("Stephanie", 40),
    ("Natasha", 40), ("Vicky", 20), ("Toni", 20), ("Jasmine", 20), ("Aisha", 15),
    ("Fatima", 15), ("Amina", 10), ("Yasmin", 15), ("Leah", 30), ("Kayleigh", 30),
    ("Chelsea", 30), ("Paige", 20), ("Georgia", 20), ("Lucy", 40), ("Alice", 20),
    ("Grace", 20), ("Olivia", 20), ("Sophia", 10), ("Ruby", 10), ("Katie", 40),
    ("Melissa", 30), ("Kerry", 40), ("Marie", 30), ("Sandra", 30), ("Paula", 30),
    ("Teresa", 20), ("Maria", 20), ("Ann", 20), ("Jill", 10), ("Sara", 20),
];

/// The most frequent family names, weights about their share per 100,000 people.
#[rustfmt::skip]
pub(crate) const FAMILY: &[Weighted] = &[
    ("Smith", 1260), ("Jones", 750), ("Williams", 620), ("Taylor", 550), ("Brown", 550),
    ("Davies", 470), ("Evans", 370), ("Wilson", 370), ("Thomas", 350), ("Johnson", 330),
    ("Roberts", 320), ("Robinson", 280), ("Thompson", 280), ("Wright", 270), ("Walker", 270),
    ("White", 260), ("Edwards", 250), ("Hughes", 250), ("Green", 240), ("Hall", 230),
    ("Lewis", 230), ("Harris", 230), ("Clarke", 220), ("Patel", 220), ("Jackson", 220),
    ("Wood", 210), ("Turner", 200), ("Martin", 200), ("Cooper", 200), ("Hill", 200),
    ("Ward", 190), ("Morris", 190), ("Moore", 190), ("Clark", 190), ("Lee", 190),
    ("King", 190), ("Baker", 180), ("Harrison", 180), ("Morgan", 170), ("Allen", 170),
    ("James", 170), ("Scott", 160), ("Phillips", 160), ("Watson", 160), ("Davis", 160),
    ("Parker", 150), ("Price", 150), ("Bennett", 150), ("Young", 150), ("Griffiths", 150),
    ("Mitchell", 140), ("Kelly", 140), ("Cook", 140), ("Carter", 140), ("Richardson", 140),
    ("Bailey", 130), ("Collins", 130), ("Bell", 130), ("Shaw", 130), ("Murphy", 130),
    ("Miller", 130), ("Cox", 130), ("Richards", 120), ("Khan", 120), ("Marshall", 120),
    ("Anderson", 120), ("Simpson", 120), ("Ellis", 120), ("Adams", 120), ("Singh", 120),
    ("Begum", 120), ("Wilkinson", 110), ("Foster", 110), ("Chapman", 110), ("Powell", 110),
    ("Webb", 110), ("Rogers", 110), ("Gray", 110), ("Mason", 110), ("Ali", 110),
    ("Hunt", 110), ("Hussain", 110), ("Campbell", 100), ("Matthews", 100), ("Owen", 100),
    ("Palmer", 100), ("Holmes", 100), ("Mills", 100), ("Barnes", 100), ("Knight", 100),
    ("Lloyd", 100), ("Butler", 100), ("Russell", 100), ("Barker", 100), ("Fisher", 100),
    ("Stevens", 100), ("Jenkins", 100), ("Murray", 100), ("Dixon", 100), ("Harvey", 100),
    ("Graham", 60), ("Pearson", 60), ("Ahmed", 60), ("Fletcher", 60), ("Walsh", 60),
    ("Kaur", 60), ("Gibson", 60), ("Howard", 60), ("Andrews", 60), ("Stewart", 60),
    ("Elliott", 60), ("Reynolds", 60), ("Saunders", 60), ("Payne", 60), ("Fox", 60),
    ("Ford", 60), ("Pearce", 60), ("Day", 60), ("Brooks", 60), ("West", 60),
    ("Lawrence", 60), ("Cole", 60), ("Atkinson", 60), ("Spencer", 60), ("Gill", 60),
    ("Dawson", 50), ("Ball", 50), ("Burton", 50), ("O'Brien", 50), ("Watts", 50),
    ("Rose", 50), ("Booth", 50), ("Perry", 50), ("Ryan", 50), ("Grant", 50),
    ("Wells", 50), ("Armstrong", 50), ("Francis", 50), ("Rees", 50), ("Hayes", 50),
    ("Hart", 50), ("Hudson", 50), ("Newman", 50), ("Barrett", 50), ("Webster", 50),
    ("Hunter", 50), ("Gregory", 50), ("Carr", 50), ("Lowe", 50), ("Page", 50),
    ("Marsh", 50), ("Riley", 50), ("Dunn", 50), ("Woods", 50), ("Parsons", 50),
    ("Berry", 50), ("Stone", 50), ("Reid", 50), ("Holland", 50), ("Hawkins", 50),
    ("Harding", 50), ("Porter", 50), ("Robertson", 50), ("Newton", 50), ("Oliver", 50),
    ("Reed", 50), ("Kennedy", 50), ("Williamson", 50), ("Bird", 50), ("Gardner", 50),
    ("Shah", 50), ("Dean", 50), ("Lane", 50), ("Cooke", 50), ("Bates", 50),
    ("Henderson", 50), ("Parry", 50), ("Burgess", 50), ("Bishop", 50), ("Walton", 50),
    ("Burns", 50), ("Nicholson", 50), ("Shepherd", 50), ("Ross", 50), ("Cross", 50),
    ("Long", 40), ("Freeman", 40), ("Warren", 40), ("Nicholls", 40), ("Hamilton", 40),
    ("Byrne", 40), ("Sutton", 40), ("McDonald", 40), ("Yates", 40), ("Hodgson", 40),
    ("Robson", 40), ("Curtis", 40), ("Hopkins", 40), ("O'Connor", 40), ("Harper", 40),
    ("Coleman", 40), ("Watkins", 40), ("Moss", 40), ("McCarthy", 40), ("Chambers", 40),
    ("O'Neill", 40), ("Griffin", 40), ("Sharp", 40), ("Hardy", 40), ("Wheeler", 40),
    ("Potter", 40), ("Osborne", 40), ("Johnston", 40), ("Gordon", 40), ("Doyle", 40),
    ("Wallace", 40), ("George", 40), ("Jordan", 40), ("Hutchinson", 40), ("Rowe", 40),
    ("Burke", 40), ("May", 40), ("Pritchard", 40), ("Gilbert", 40), ("Willis", 40),
    ("Higgins", 40), ("Read", 40), ("Miles", 40), ("Stevenson", 40), ("Stephenson", 40),
    ("Hammond", 40), ("Arnold", 40), ("Buckley", 40), ("Walters", 40), ("Hewitt", 40),
    ("Barber", 40), ("Nelson", 40), ("Slater", 40), ("Austin", 40), ("Sullivan", 40),
    ("Whitehead", 40), ("Mann", 40), ("Frost", 40), ("Lambert", 40), ("Stephens", 40),
    ("Blake", 40), ("Akhtar", 40), ("Lynch", 40), ("Goodwin", 40), ("Barton", 40),
    ("Woodward", 40), ("Thomson", 40), ("Cunningham", 40), ("Quinn", 40), ("Barnett", 40),
    ("Baxter", 40), ("Bibi", 40), ("Clayton", 40), ("Nash", 40), ("Greenwood", 40),
    ("Jennings", 40), ("Holt", 40), ("Kemp", 40), ("Poole", 40), ("Gallagher", 40),
    ("Bond", 40), ("Stokes", 40), ("Tucker", 40), ("Davidson", 40), ("Fowler", 40),
    ("Heath", 40), ("Norman", 40), ("Middleton", 40), ("Lawson", 40), ("Banks", 40),
    ("French", 40), ("Jarvis", 40), ("Gibbs", 40), ("Ferguson", 40), ("Hayward", 40),
    ("Carroll", 40), ("Douglas", 40), ("Dickinson", 40), ("Todd", 40), ("Barlow", 40),
    ("Peters", 40), ("Lucas", 40), ("Knowles", 40), ("Hartley", 40), ("Miah", 40),
    ("Simmons", 40), ("Morton", 40), ("Alexander", 40), ("Field", 40), ("Morrison", 40),
    ("Norris", 40), ("Townsend", 40), ("Preston", 40), ("Hancock", 40), ("Baldwin", 40),
    ("Burrows", 40), ("Briggs", 40), ("Storey", 40), ("Pugh", 40), ("Brennan", 40),
];

/// First halves of composed toponymic surnames.
pub(crate) const PREFIXES: &[&str] = &[
    "Ash", "Black", "Brad", "Brook", "Bur", "Cal", "Chad", "Charl", "Clay", "Crom", "Dar", "Den",
    "Dun", "Eding", "Fair", "Farn", "Gold", "Green", "Hal", "Haw", "Hol", "Hun", "Kings", "Lang",
    "Lock", "Mar", "Mid", "Nor", "Old", "Pen", "Rad", "Red", "Rush", "Ship", "Stan", "Stock",
    "Sut", "Thorn", "Wal", "Wat", "Wes", "Whit", "Wood", "Wor", "Yar",
];

/// Second halves of composed toponymic surnames.
pub(crate) const SUFFIXES: &[&str] = &[
    "ley", "ton", "ford", "field", "worth", "wood", "ham", "by", "well", "more", "shaw", "stone",
    "bury", "dale", "combe", "hurst",
];

/// Weight of each composed surname: about 0.1 % of people each, together the 70 % of people
/// whose surname is outside the top few hundred.
pub(crate) const COMPOSED_WEIGHT: u32 = 100;

/// Known-as forms: (full name, nicknames).
pub(crate) const NICKNAMES: &[(&str, &[&str])] = &[
    ("Robert", &["Bob", "Rob", "Bobby", "Robbie"]),
    ("William", &["Bill", "Will", "Billy", "Liam"]),
    ("James", &["Jim", "Jimmy", "Jamie"]),
    ("John", &["Jack", "Johnny", "Jon"]),
    ("Michael", &["Mike", "Mick", "Mickey"]),
    ("Richard", &["Rick", "Rich", "Dick", "Richie"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Anthony", &["Tony", "Ant"]),
    ("Christopher", &["Chris", "Kit"]),
    ("Daniel", &["Dan", "Danny"]),
    ("David", &["Dave", "Davy"]),
    ("Edward", &["Ed", "Eddie", "Ted"]),
    ("Joseph", &["Joe", "Joey"]),
    ("Matthew", &["Matt"]),
    ("Nicholas", &["Nick", "Nicky"]),
    ("Peter", &["Pete"]),
    ("Samuel", &["Sam", "Sammy"]),
    ("Stephen", &["Steve", "Stevie"]),
    ("Steven", &["Steve", "Stevie"]),
    ("Alexander", &["Alex", "Sandy"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Benjamin", &["Ben", "Benny"]),
    ("Charles", &["Charlie", "Chas"]),
    ("Jonathan", &["Jon", "Jonny"]),
    ("Kenneth", &["Ken", "Kenny"]),
    ("Patrick", &["Pat", "Paddy"]),
    ("Raymond", &["Ray"]),
    ("Ronald", &["Ron", "Ronnie"]),
    ("Timothy", &["Tim", "Timmy"]),
    ("Joshua", &["Josh"]),
    ("Philip", &["Phil"]),
    ("Terry", &["Tel"]),
    ("Henry", &["Harry", "Hal"]),
    ("Mohammed", &["Mo"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Elizabeth", &["Liz", "Beth", "Lizzie", "Betty"]),
    ("Margaret", &["Maggie", "Peggy", "Meg"]),
    ("Catherine", &["Cathy", "Kate", "Katie"]),
    ("Katherine", &["Kate", "Kathy", "Katie"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Samantha", &["Sam", "Sammy"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("Jacqueline", &["Jackie"]),
    ("Deborah", &["Debbie", "Debs"]),
    ("Susan", &["Sue", "Susie"]),
    ("Patricia", &["Pat", "Trish", "Tricia"]),
    ("Christine", &["Chris", "Chrissie"]),
    ("Amanda", &["Mandy"]),
    ("Abigail", &["Abbie", "Abby"]),
    ("Nicola", &["Nicky", "Nikki"]),
    ("Kimberley", &["Kim"]),
    ("Stephanie", &["Steph"]),
    ("Jessica", &["Jess"]),
    ("Danielle", &["Dani"]),
    ("Natasha", &["Tasha"]),
    ("Charlotte", &["Charlie", "Lottie"]),
    ("Jacqueline", &["Jacqui"]),
    ("Alison", &["Ali"]),
];

/// Spelling variants that sound the same (either direction).
#[rustfmt::skip]
pub(crate) const VARIANTS: &[(&str, &str)] = &[
    ("Stephen", "Steven"), ("Jon", "John"), ("Sarah", "Sara"), ("Catherine", "Katherine"),
    ("Katherine", "Kathryn"), ("Philip", "Phillip"), ("Claire", "Clare"), ("Leanne", "Lianne"),
    ("Zoe", "Zoey"), ("Amy", "Aimee"), ("Hayley", "Haley"), ("Stacey", "Stacy"),
    ("Tracey", "Tracy"), ("Kerry", "Kerri"), ("Jodie", "Jody"), ("Natalie", "Nathalie"),
    ("Mohammed", "Muhammad"), ("Mohammed", "Mohammad"), ("Shaun", "Sean"), ("Shaun", "Shawn"),
    ("Karl", "Carl"), ("Ricky", "Rikki"), ("Reece", "Rhys"), ("Callum", "Calum"),
    ("Connor", "Conor"), ("Kieran", "Ciaran"), ("Lewis", "Louis"), ("Elliot", "Elliott"),
    ("Geoffrey", "Jeffrey"), ("Thompson", "Thomson"), ("Smith", "Smyth"), ("Davies", "Davis"),
    ("Phillips", "Philips"), ("McDonald", "MacDonald"), ("Matthews", "Mathews"), ("Reid", "Reed"),
    ("Reed", "Read"), ("Clarke", "Clark"), ("Gray", "Grey"), ("Brown", "Browne"),
    ("Cook", "Cooke"), ("Stevens", "Stephens"), ("Allen", "Allan"), ("Byrne", "Burn"),
    ("O'Neill", "O'Neil"), ("Hussain", "Hussein"), ("Ahmed", "Ahmad"), ("Nicholls", "Nichols"),
    ("Stevenson", "Stephenson"), ("Lloyd", "Loyd"),
];

/// Pairs of given names twins are often given (either way round).
#[rustfmt::skip]
pub(crate) const TWIN_NAMES: &[(&str, &str)] = &[
    ("Jack", "Jake"), ("Daniel", "David"), ("Liam", "Leon"), ("Ryan", "Reece"),
    ("Dean", "Darren"), ("Lee", "Leon"), ("Craig", "Carl"), ("Jordan", "Jamie"),
    ("Callum", "Connor"), ("Mark", "Michael"), ("Chloe", "Zoe"), ("Hayley", "Kayleigh"),
    ("Leah", "Laura"), ("Emma", "Emily"), ("Jade", "Jodie"), ("Stacey", "Kelly"),
];
