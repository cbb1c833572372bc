//! The SECOS paper form (shared/seeds, the referral form's text) as table rows, filled in
//! from a [`Fill`]. Labels are the paper form's own words, not the definition's.
#![allow(dead_code)]

use super::{Bl, p, row};

pub const VULNERABILITIES: [&str; 12] = [
    "Emotional neglect by parent/carer/family member",
    "Physical abuse by parent/carer/family member",
    "History of sexual abuse",
    "Breakdown of family relationships",
    "Family history of domestic abuse ",
    "Family history of substance misuse",
    "Family history of mental health difficulties",
    "Low self-esteem",
    "Unsuitable/inappropriate accommodation",
    "Isolated from peers/social networks",
    "Lack of positive relationship with a productive/nurturing adult",
    "Looked after child",
];

pub const MODERATE: [&str; 20] = [
    "Whereabouts unclear or unknown – day and/or night",
    "Absences/exclusion from school or not engaged in school/college/training/work",
    "Multiple callers – Unknown adults/young people",
    "Physical injuries without plausible explanation",
    "Sexually transmitted infections/pregnancies/termination of pregnancies /frequent visits to Sexual health clinic",
    "Drugs misuse",
    "Alcohol misuse ",
    "Self-harming/challenging behaviours/suicide attempts/eating disorders/aggression",
    "Use of a mobile phone which causes concern – including sexting/multiple phones/sims",
    "Unsafe use of internet ",
    "Has been sexually assaulted ",
    "Disclosure of sexual/physical assault followed by withdrawal of allegation",
    "Risky/inappropriate sexual behaviour (sexual activity at an early age)",
    "Lack of awareness/understanding of being safe",
    "Peers involved in sexual exploitation/risky or concerning behaviours ",
    "Living independently and failing to respond to attempts by workers to keep in touch",
    "A&E attendance ",
    "Being accompanied to appointments by an unknown person that causes concern",
    "Association with gang members that suggests sexual exploitation is a possibility ",
    "Exploration of their sexual identity",
];

pub const SIGNIFICANT: [&str; 7] = [
    "Periods of going missing day and/or night",
    "Relationship of concern with a controlling adult (male or female) or young person, which might involve physical and/or emotional abuse and/or gang activity",
    "Entering/leaving vehicles driven by unknown adults (not car theft ",
    "Unexplained amounts of money, expensive clothes or other items",
    "Frequenting areas known for risky activities ",
    "Groomed/abused via the internet and mobile technology",
    "Having unexplained contact with hotels, taxi companies or fast food outlets",
];

/// How the referrer's details are laid out in their box.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum ReferrerLayout {
    /// "Name: Jo Bloggs" lines in one cell.
    #[default]
    Inline,
    /// The paper form's label lines in one cell, the answers line for line in the next.
    Columns,
}

#[derive(Default, Clone)]
pub struct Fill {
    pub referrer_layout: ReferrerLayout,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub position_organisation: String,
    pub date_completed: String,
    pub early_help: String,
    pub single_assessment: String,
    pub other_assessment: String,
    pub assessment_date: String,
    pub aware: String,
    pub lone_work: String,
    pub risk_factors: String,
    pub yp_name: String,
    pub yp_dob: String,
    pub yp_sex: String,
    pub yp_ethnicity: String,
    pub yp_beliefs: String,
    pub yp_language: String,
    pub yp_address: String,
    pub parent_name: String,
    pub parent_dob: String,
    pub parent_sex: String,
    pub parent_ethnicity: String,
    pub parent_language: String,
    pub relationship: String,
    pub family_address: String,
    pub significant_others: String,
    pub disabilities: String,
    pub parental_responsibility: String,
    pub lac_status: String,
    pub plan: String,
    pub social_worker: String,
    pub professionals: [String; 3],
    pub mainstream: String,
    pub mainstream_details: String,
    pub alternative: String,
    pub alternative_details: String,
    pub neet: String,
    pub engage: String,
    pub additional: String,
    /// (row index, mark)
    pub vulnerabilities: Vec<(usize, String)>,
    pub vulnerabilities_narrative: String,
    pub moderate: Vec<(usize, String)>,
    pub moderate_narrative: String,
    /// (row index, current mark, prior mark)
    pub significant: Vec<(usize, String, String)>,
    pub third_party: String,
    pub strengths: String,
    pub work_requested: String,
    /// Rows someone added to the form.
    pub extra_rows: Vec<(String, String)>,
}

fn mark_of(marks: &[(usize, String)], i: usize) -> String {
    marks
        .iter()
        .find(|(j, _)| *j == i)
        .map(|(_, m)| m.clone())
        .unwrap_or_default()
}

/// The filled form, laid out as the paper form.
pub fn paper_form(f: &Fill) -> Vec<Bl> {
    let mut b = vec![
        p("SECOS Referral Process"),
        p("ONLY E-MAILED REFERRALS ACCEPTED, PLEASE SEND TO THE FOLLOWING SECURE EMAIL ADDRESS:"),
        p("secos.project@secos.cjsm.net"),
        p("SECOS  Referral"),
        p("To be completed in full and forwarded electronically "),
        row(&["Referrer contact details "]),
    ];
    match f.referrer_layout {
        ReferrerLayout::Inline => b.push(row(&[&format!(
            "Name: {}\n\nAddress: {}\nPhone Number: {}\n\nEmail: {}\n",
            f.name, f.address, f.phone, f.email
        )])),
        ReferrerLayout::Columns => b.push(row(&[
            "Name\n\nAddress\nPhone Number\n\nEmail ",
            &format!("{}\n\n{}\n{}\n\n{}", f.name, f.address, f.phone, f.email),
        ])),
    }
    b.extend([
        row(&["Position/Organisation", &f.position_organisation]),
        row(&["Date referral completed", &f.date_completed]),
        row(&["Attach any recent assessments that have been completed. Please tick below:"]),
        row(&[
            "Early Help",
            &f.early_help,
            "Single Ass ",
            &f.single_assessment,
            "Other (please state)",
            &f.other_assessment,
        ]),
        row(&["Date assessment was completed", &f.assessment_date]),
        row(&["Is the YP/Parent/Carer aware of the referral? *", &f.aware]),
        row(&[
            "Are there any concerns regarding lone work with either the YP or parents/carers? **",
            &f.lone_work,
        ]),
        row(&["Please provide details of any risk factors which may affect how we work with the YP and Family (e.g. Family violence, history of violence, risky associates and behavioural concerns)."]),
        row(&[&f.risk_factors]),
        Bl::EndTable,
        p("* \nPlease note that information from the referral will be shared with the Young Person unless indicated otherwise by referrer. 3rd Party information should be submitted on the 3rd Party Sheet which is located in the referral form below."),
        p("** \nPlease be aware that SECOS Project Workers are lone workers and we require your assistance in completing a risk assessment to cover the initial visits."),
        row(&["Family Composition"]),
        row(&["Name of YP:", &f.yp_name]),
        row(&["Date of Birth:", &f.yp_dob]),
        row(&["Sex:", &f.yp_sex]),
        row(&["Ethnicity:", &f.yp_ethnicity]),
        row(&["Cultural/religious beliefs:", &f.yp_beliefs]),
        row(&["First language:", &f.yp_language]),
        row(&["YPs address and contact details:\n\n", &f.yp_address]),
        row(&["Name of Parent/Carer:", &f.parent_name]),
        row(&["Date of Birth(s):", &f.parent_dob]),
        row(&["Sex(es):", &f.parent_sex]),
        row(&["Ethnicity:", &f.parent_ethnicity]),
        row(&["Cultural/religious beliefs:", ""]),
        row(&["First language:", &f.parent_language]),
        row(&["Relationship(s):", &f.relationship]),
        row(&["Family Address and contact details:", &f.family_address]),
        row(&["Significant other people in YP\u{2019}s life?", &f.significant_others]),
        row(&["Any disabilities within the family?", &f.disabilities]),
        Bl::EndTable,
        row(&["Legalities"]),
        row(&["Who has Parental Responsibility (PR)?", &f.parental_responsibility]),
        row(&["What is the YPs legal status if LAC (Foster/Residential/what Section)?", &f.lac_status]),
        row(&["Child in Need or Child Protection Plan?  Please provide full details below and indicate whether current or historic."]),
        row(&[&f.plan]),
        row(&["Does the family have a Social Worker? If yes, please provide details, including all contact details."]),
        row(&[&f.social_worker]),
        Bl::EndTable,
        row(&["Professionals currently involved with YP/family"]),
        row(&["Please list ALL agencies currently involved with the YP/family including full contact details, whom they are supporting, why they are supporting and whether they have been consulted regarding this referral.  The SECOS model is a multi-agency approach therefore this information is of vital importance."]),
        row(&["1.\n\n", &f.professionals[0]]),
        row(&["2.", &f.professionals[1]]),
        row(&["3.", &f.professionals[2]]),
        Bl::EndTable,
        p("Please continue as required."),
        row(&["Education "]),
        row(&["Current educational provision:  "]),
        row(&["Is the YP in mainstream education?", &f.mainstream]),
        row(&["If Yes, please specify school - whether full time/part time hours and any specific days of attendance and any exclusion/behavioural history below."]),
        row(&[&f.mainstream_details]),
        row(&["Is the YP in alternative education, attending PRU/Special Schooling Arrangements?", &f.alternative]),
        row(&["If yes, please specify school, timetable and any exclusion/behavioural history below."]),
        row(&[&f.alternative_details]),
        row(&["Not in education, training or employment (NEET)?", &f.neet]),
        row(&["Does young person want to engage in education, training and employment?", &f.engage]),
        Bl::EndTable,
        row(&["Please use this section for any additional information you feel is relevant to the referral."]),
        row(&[&f.additional]),
        Bl::EndTable,
        p("Child Sexual Exploitation Screening Tool"),
        row(&["Key Criteria\n\nIn order for SECOS to accept the referral the child/YP must meet one or more of the vulnerability or moderate risk indicators. Please provide as much information as possible in order that we are able to assess the level of risk and vulnerability appropriately.  These indicators are a guide and should assist the exercise of professional judgement. "]),
        Bl::EndTable,
        row(&["Vulnerabilities", "Please tick"]),
    ]);
    for (i, label) in VULNERABILITIES.iter().enumerate() {
        b.push(row(&[label, &mark_of(&f.vulnerabilities, i)]));
    }
    b.push(row(&[&format!(
        "If any of the above have been indicated please provide a narrative for clarification:\n{}",
        f.vulnerabilities_narrative
    )]));
    b.push(Bl::EndTable);
    b.push(row(&["Moderate Risk Indicators", "Please tick"]));
    for (i, label) in MODERATE.iter().enumerate() {
        b.push(row(&[label, &mark_of(&f.moderate, i)]));
    }
    b.push(row(&[&format!(
        "If any of the above have been indicated please provide a narrative for clarification:\n{}",
        f.moderate_narrative
    )]));
    b.push(Bl::EndTable);
    b.push(row(&[
        "Significant Risk Indicators",
        "Current or within 6 months (please tick)",
        "Prior to 6 months (please tick)",
    ]));
    for (i, label) in SIGNIFICANT.iter().enumerate() {
        let (current, prior) = f
            .significant
            .iter()
            .find(|(j, _, _)| *j == i)
            .map(|(_, c, p)| (c.clone(), p.clone()))
            .unwrap_or_default();
        b.push(row(&[label, &current, &prior]));
    }
    b.push(Bl::EndTable);
    b.push(row(&["3rd Party information not to be shared with Young Person or Family/Carers (please give a clear rationale as to why this is not to be shared for our records)."]));
    b.push(row(&[&f.third_party]));
    b.push(Bl::EndTable);
    b.push(row(&[&format!(
        "The SECOS service is able to cover issues that may impact or indicate a child/young person\u{2019}s vulnerability to CSE, such as poor sexual health, drug and alcohol misuse, harmful relationships, missing episodes. We will refer onto other agencies with the client\u{2019}s consent where a need is identified. \n\nFamily Strengths:\n{}\n\nWork Requested by Referrer:\n{}\n\n",
        f.strengths, f.work_requested
    )]));
    for (label, value) in &f.extra_rows {
        b.push(row(&[label, value]));
    }
    b.push(Bl::EndTable);
    b.push(p("Thank you for taking the time to complete this Referral Form, a member of the SECOS team will be in contact with you as soon as possible. "));
    b
}
