//! Biometrics taken at the 申请易 kiosk (issue 17, RULES.md §5): who gives fingerprints, in
//! which order the fingers are asked for, when a print is good enough, and when the signature is
//! skipped. The photo's limits are [`crate::remote::check_photo`] (the same §5 limits as an
//! online application's upload).
//!
//! The fingerprint plan is a pure function of what happened so far ([`next_capture`]): the kiosk
//! asks it after every capture, and the server asks it again over the whole record when the
//! application is submitted, so that a page cannot skip a step the rules require.

use serde::{Deserialize, Serialize};

/// §5: fingerprints are mandatory from this age; under it only with the guardian's consent.
pub const FINGERPRINT_MANDATORY_AGE: u32 = 16;
/// §5: at least this many valid prints.
pub const MIN_VALID_PRINTS: usize = 2;
/// The least NFIQ 2 score (0–100) a print must reach to count (the bridge's `min_quality`,
/// docs/KIOSK.md §5).
pub const MIN_QUALITY: u8 = 60;
/// A finger of poor quality is asked for once more, then the next finger is taken (the agent
/// itself already tries three times per capture).
pub const CAPTURES_PER_FINGER: usize = 2;
/// Children under this age are pre-school: they are not asked to sign (§5).
pub const SIGNATURE_FROM_AGE: u32 = 6;

/// A hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hand {
    Right,
    Left,
}

/// One of the ten fingers, named as the bridge names them (`right_thumb`, `left_index`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finger {
    RightThumb,
    RightIndex,
    RightMiddle,
    RightRing,
    RightLittle,
    LeftThumb,
    LeftIndex,
    LeftMiddle,
    LeftRing,
    LeftLittle,
}

impl Finger {
    /// Both hands, each in the order of priority (thumb > index > middle > ring > little).
    pub const ALL: [Finger; 10] = [
        Finger::RightThumb,
        Finger::RightIndex,
        Finger::RightMiddle,
        Finger::RightRing,
        Finger::RightLittle,
        Finger::LeftThumb,
        Finger::LeftIndex,
        Finger::LeftMiddle,
        Finger::LeftRing,
        Finger::LeftLittle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RightThumb => "right_thumb",
            Self::RightIndex => "right_index",
            Self::RightMiddle => "right_middle",
            Self::RightRing => "right_ring",
            Self::RightLittle => "right_little",
            Self::LeftThumb => "left_thumb",
            Self::LeftIndex => "left_index",
            Self::LeftMiddle => "left_middle",
            Self::LeftRing => "left_ring",
            Self::LeftLittle => "left_little",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn hand(self) -> Hand {
        if (self as usize) < 5 {
            Hand::Right
        } else {
            Hand::Left
        }
    }

    /// 0 for the thumb … 4 for the little finger.
    pub fn rank(self) -> usize {
        self as usize % 5
    }

    /// The finger's name in Chinese and English, for the screen.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::RightThumb => ("右手拇指", "right thumb"),
            Self::RightIndex => ("右手食指", "right index finger"),
            Self::RightMiddle => ("右手中指", "right middle finger"),
            Self::RightRing => ("右手环指", "right ring finger"),
            Self::RightLittle => ("右手小指", "right little finger"),
            Self::LeftThumb => ("左手拇指", "left thumb"),
            Self::LeftIndex => ("左手食指", "left index finger"),
            Self::LeftMiddle => ("左手中指", "left middle finger"),
            Self::LeftRing => ("左手环指", "left ring finger"),
            Self::LeftLittle => ("左手小指", "left little finger"),
        }
    }
}

/// One capture as it went: the finger asked for and the quality reached; `None` when the
/// reader gave up (`read_failed`, poor quality after its own tries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    pub finger: Finger,
    pub quality: Option<u8>,
}

impl Capture {
    pub fn valid(&self) -> bool {
        self.quality.is_some_and(|q| q >= MIN_QUALITY)
    }
}

/// What the plan is given: the applicant's age, the guardian's consent (under 16), the fingers
/// missing or damaged (skipped), and the captures so far, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanInput {
    pub age: u32,
    pub guardian_consent: bool,
    pub skipped: Vec<Finger>,
    pub captures: Vec<Capture>,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Under 16 without the guardian's consent: no fingerprints are taken.
    NotTaken,
    /// Put this finger on the reader.
    Capture(Finger),
    /// Enough valid prints: these fingers (in capture order).
    Complete(Vec<Finger>),
    /// Every finger that could be tried was, and fewer than two prints are valid: the
    /// fingerprints must be taken at a counter (with the hospital's certificate for an injury).
    Insufficient(Vec<Finger>),
}

/// The next step of the capture, by RULES.md §5: right hand, then left, one finger each, by
/// priority (thumb > index > middle > ring > little), missing or damaged fingers skipped; a
/// finger of poor quality asked for [`CAPTURES_PER_FINGER`] times, then the next finger of the
/// hand; when fewer than two prints are valid after both hands, more fingers by priority (the
/// right's, then the left's of each rank).
pub fn next_capture(input: &PlanInput) -> Step {
    if input.age < FINGERPRINT_MANDATORY_AGE && !input.guardian_consent {
        return Step::NotTaken;
    }
    let valid: Vec<Finger> = input
        .captures
        .iter()
        .filter(|c| c.valid())
        .map(|c| c.finger)
        .fold(Vec::new(), |mut v, f| {
            if !v.contains(&f) {
                v.push(f);
            }
            v
        });
    let tries = |f: Finger| input.captures.iter().filter(|c| c.finger == f).count();
    // A finger can still be asked for: present, not yet valid, not worn out.
    let open = |f: Finger| {
        !input.skipped.contains(&f) && !valid.contains(&f) && tries(f) < CAPTURES_PER_FINGER
    };
    // One finger each hand: the first of the hand by priority still open, unless the hand has
    // a valid print already.
    for hand in [Hand::Right, Hand::Left] {
        if valid.iter().any(|f| f.hand() == hand) {
            continue;
        }
        if let Some(f) = Finger::ALL
            .into_iter()
            .filter(|f| f.hand() == hand)
            .find(|&f| open(f))
        {
            return Step::Capture(f);
        }
    }
    if valid.len() >= MIN_VALID_PRINTS {
        return Step::Complete(valid);
    }
    // Fewer than two: more by priority, across both hands.
    let mut by_priority = Finger::ALL;
    by_priority.sort_by_key(|f| (f.rank(), f.hand() == Hand::Left));
    match by_priority.into_iter().find(|&f| open(f)) {
        Some(f) => Step::Capture(f),
        None => Step::Insufficient(valid),
    }
}

/// Whether the applicant is asked to sign: not a pre-school child (under 6), and not one who
/// declares being unable to (recorded; the officer checks it at acceptance).
pub fn signature_asked(age: u32) -> bool {
    age >= SIGNATURE_FROM_AGE
}

#[cfg(test)]
mod tests {
    use super::Finger::*;
    use super::*;

    fn plan(age: u32, consent: bool, skipped: &[Finger], caps: &[(Finger, Option<u8>)]) -> Step {
        next_capture(&PlanInput {
            age,
            guardian_consent: consent,
            skipped: skipped.to_vec(),
            captures: caps
                .iter()
                .map(|&(finger, quality)| Capture { finger, quality })
                .collect(),
        })
    }

    #[test]
    fn an_adult_gives_the_right_thumb_then_the_left_thumb() {
        assert_eq!(plan(30, false, &[], &[]), Step::Capture(RightThumb));
        assert_eq!(
            plan(30, false, &[], &[(RightThumb, Some(80))]),
            Step::Capture(LeftThumb)
        );
        assert_eq!(
            plan(
                30,
                false,
                &[],
                &[(RightThumb, Some(80)), (LeftThumb, Some(61))]
            ),
            Step::Complete(vec![RightThumb, LeftThumb])
        );
    }

    #[test]
    fn under_sixteen_only_with_the_guardians_consent() {
        assert_eq!(plan(15, false, &[], &[]), Step::NotTaken);
        assert_eq!(plan(15, true, &[], &[]), Step::Capture(RightThumb));
        // 16 is mandatory whatever the consent says.
        assert_eq!(plan(16, false, &[], &[]), Step::Capture(RightThumb));
    }

    #[test]
    fn a_poor_print_is_retried_once_then_the_next_finger_of_the_hand() {
        assert_eq!(
            plan(30, false, &[], &[(RightThumb, Some(40))]),
            Step::Capture(RightThumb)
        );
        assert_eq!(
            plan(
                30,
                false,
                &[],
                &[(RightThumb, Some(40)), (RightThumb, None)]
            ),
            Step::Capture(RightIndex)
        );
        // Exactly the threshold counts.
        assert_eq!(
            plan(30, false, &[], &[(RightThumb, Some(MIN_QUALITY))]),
            Step::Capture(LeftThumb)
        );
    }

    #[test]
    fn missing_or_damaged_fingers_are_skipped() {
        assert_eq!(
            plan(30, false, &[RightThumb, RightIndex], &[]),
            Step::Capture(RightMiddle)
        );
        // A whole right hand missing: the left hand's first two by priority.
        let right: Vec<Finger> = Finger::ALL
            .into_iter()
            .filter(|f| f.hand() == Hand::Right)
            .collect();
        assert_eq!(plan(30, false, &right, &[]), Step::Capture(LeftThumb));
        assert_eq!(
            plan(30, false, &right, &[(LeftThumb, Some(90))]),
            Step::Capture(LeftIndex)
        );
        assert_eq!(
            plan(
                30,
                false,
                &right,
                &[(LeftThumb, Some(90)), (LeftIndex, Some(70))]
            ),
            Step::Complete(vec![LeftThumb, LeftIndex])
        );
    }

    #[test]
    fn fewer_than_two_valid_takes_more_by_priority() {
        // Every right finger fails twice; the left thumb is good: then the left index.
        let mut caps: Vec<(Finger, Option<u8>)> = Finger::ALL[..5]
            .iter()
            .flat_map(|&f| [(f, Some(20)), (f, None)])
            .collect();
        assert_eq!(plan(30, false, &[], &caps), Step::Capture(LeftThumb));
        caps.push((LeftThumb, Some(75)));
        assert_eq!(plan(30, false, &[], &caps), Step::Capture(LeftIndex));
        caps.push((LeftIndex, Some(66)));
        assert_eq!(
            plan(30, false, &[], &caps),
            Step::Complete(vec![LeftThumb, LeftIndex])
        );
    }

    #[test]
    fn when_nothing_is_left_the_counter_takes_them() {
        let all_but_one: Vec<Finger> = Finger::ALL[1..].to_vec();
        assert_eq!(
            plan(30, false, &all_but_one, &[(RightThumb, Some(90))]),
            Step::Insufficient(vec![RightThumb])
        );
        assert_eq!(
            plan(30, false, &Finger::ALL, &[]),
            Step::Insufficient(vec![])
        );
    }

    #[test]
    fn names_parse_back() {
        for f in Finger::ALL {
            assert_eq!(Finger::parse(f.as_str()), Some(f));
        }
        assert_eq!(Finger::parse("right_toe"), None);
    }

    #[test]
    fn pre_school_children_do_not_sign() {
        assert!(!signature_asked(5));
        assert!(signature_asked(6));
    }
}
