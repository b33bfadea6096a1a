//! Short-lived caches that keep the release minute cheap.
//!
//! A release burst is mostly citizens asking for seats that are gone (NOTES.md §3), so the
//! answer "full" must not cost a database write, and the reference data every request needs
//! (halls, a slot's static fields) must not cost a read each time. Nothing here is a source of
//! truth: a seat is only ever taken by the store's atomic statement. The caches can only make an
//! answer stale in the safe direction, and for a bounded time:
//! - a slot marked full is refused without touching the database for [`FULL_TTL`], after
//!   which one request per period re-asks the database (single flight); a seat freed by this
//!   instance clears the mark at once, one freed by another instance is seen at the next
//!   re-ask, within a period or two;
//! - alternatives are recomputed at most every [`ALTERNATIVES_TTL`]; a stale one is just a
//!   suggestion, and booking it gets its own answer;
//! - halls are reread every [`HALLS_TTL`], the authority's face every [`FACE_TTL`].

use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use wujing_store::{Hall, Slot};

pub const FULL_TTL: Duration = Duration::from_millis(1000);
pub const ALTERNATIVES_TTL: Duration = Duration::from_millis(1000);
pub const HALLS_TTL: Duration = Duration::from_secs(5);
/// The authority's face is reread this often: a change on one app server shows on the others
/// within this time (at once on the server that made it).
pub const FACE_TTL: Duration = Duration::from_secs(10);
/// Beyond this many entries a map is cleared rather than grown (a release touches ~10k slots).
const MAX_ENTRIES: usize = 200_000;
/// Addresses in their sign-in delay remembered as already recorded (each first made 30 counted
/// attempts, so this many is a large attack).
const MAX_REFUSALS_NOTED: usize = 100_000;

/// Halls by id; each shared, so that a request borrows a hall instead of copying it.
pub type HallIndex = Arc<HashMap<String, Arc<Hall>>>;
/// A full slot and whether the asker is a foreigner (fewer halls serve them).
/// A full slot and the business asked for: alternatives come only from sites offering it.
type AlternativesKey = (i64, String);

#[derive(Default)]
pub struct Caches {
    halls: RwLock<Option<(Instant, HallIndex)>>,
    slots: RwLock<HashMap<i64, Slot>>,
    full: Mutex<HashMap<i64, Instant>>,
    alternatives: Mutex<HashMap<AlternativesKey, (Instant, Arc<RawValue>)>>,
    /// Days whose lottery draw has finished: once true it stays true.
    drawn: RwLock<std::collections::HashSet<chrono::NaiveDate>>,
    /// Sign-in gates (addresses) whose refusal is already in the audit trail: key → the end of
    /// the delay that refusal named.
    refusals_noted: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// The authority's face, which every portal page shows.
    face: RwLock<Option<(Instant, Arc<crate::authority::Face>)>>,
}

impl Caches {
    pub fn halls(&self) -> Option<HallIndex> {
        let g = self.halls.read().ok()?;
        g.as_ref()
            .filter(|(at, _)| at.elapsed() < HALLS_TTL)
            .map(|(_, h)| h.clone())
    }

    pub fn set_halls(&self, h: HallIndex) {
        if let Ok(mut g) = self.halls.write() {
            *g = Some((Instant::now(), h));
        }
    }

    pub fn face(&self) -> Option<Arc<crate::authority::Face>> {
        let g = self.face.read().ok()?;
        g.as_ref()
            .filter(|(at, _)| at.elapsed() < FACE_TTL)
            .map(|(_, f)| f.clone())
    }

    pub fn set_face(&self, f: Option<Arc<crate::authority::Face>>) {
        if let Ok(mut g) = self.face.write() {
            *g = f.map(|f| (Instant::now(), f));
        }
    }

    pub fn clear_halls(&self) {
        if let Ok(mut g) = self.halls.write() {
            *g = None;
        }
    }

    /// A slot's static fields (its counter is not kept up to date).
    pub fn slot(&self, id: i64) -> Option<Slot> {
        self.slots.read().ok()?.get(&id).cloned()
    }

    pub fn set_slot(&self, s: &Slot) {
        if let Ok(mut g) = self.slots.write() {
            if g.len() >= MAX_ENTRIES {
                g.clear();
            }
            g.insert(s.id, s.clone());
        }
    }

    /// Whether to answer "full" without the database. When a verdict expires, exactly one
    /// caller is let through to ask the database again while the others keep the verdict for
    /// another period: at release time thousands of requests would otherwise all miss at the
    /// same instant and queue on the same rows.
    pub fn is_full(&self, id: i64) -> bool {
        let Ok(mut g) = self.full.lock() else {
            return false;
        };
        let now = Instant::now();
        match g.get_mut(&id) {
            Some(until) if *until > now => true,
            Some(until) => {
                *until = now + FULL_TTL;
                false
            }
            None => false,
        }
    }

    /// A hold succeeded: the slot had a seat after all.
    pub fn clear_full(&self, id: i64) {
        if let Ok(mut g) = self.full.lock() {
            g.remove(&id);
        }
    }

    pub fn mark_full(&self, id: i64) {
        if let Ok(mut g) = self.full.lock() {
            if g.len() >= MAX_ENTRIES {
                g.clear();
            }
            g.insert(id, Instant::now() + FULL_TTL);
        }
    }

    /// A seat came free somewhere: forget every "full" verdict and stale suggestion.
    pub fn seats_freed(&self) {
        if let Ok(mut g) = self.full.lock() {
            g.clear();
        }
        if let Ok(mut g) = self.alternatives.lock() {
            g.clear();
        }
    }

    /// The `slot_full` details for `(slot, business)`.
    pub fn alternatives(&self, key: &AlternativesKey) -> Option<Arc<RawValue>> {
        let g = self.alternatives.lock().ok()?;
        g.get(key)
            .filter(|(at, _)| at.elapsed() < ALTERNATIVES_TTL)
            .map(|(_, a)| a.clone())
    }

    pub fn set_alternatives(&self, key: AlternativesKey, a: Arc<RawValue>) {
        if let Ok(mut g) = self.alternatives.lock() {
            if g.len() >= MAX_ENTRIES {
                g.clear();
            }
            g.insert(key, (Instant::now(), a));
        }
    }

    /// Whether a sign-in refused by gate `key` until `until` is the first refusal of that delay
    /// this server has seen, and so goes into the audit trail. Refusals count nothing in the
    /// database, so without this one address could write an entry per request for as long as
    /// its delay lasts; with it, an address's delay is recorded once per app server. Entries
    /// whose delay is over are dropped when the map fills.
    pub fn first_refusal(
        &self,
        key: &str,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let Ok(mut g) = self.refusals_noted.lock() else {
            return true;
        };
        if g.get(key) == Some(&until) {
            return false;
        }
        if g.len() >= MAX_REFUSALS_NOTED {
            g.retain(|_, u| *u > now);
            if g.len() >= MAX_REFUSALS_NOTED {
                g.clear();
            }
        }
        g.insert(key.to_string(), until);
        true
    }

    pub fn draw_finished(&self, day: chrono::NaiveDate) -> bool {
        self.drawn.read().is_ok_and(|g| g.contains(&day))
    }

    pub fn set_draw_finished(&self, day: chrono::NaiveDate) {
        if let Ok(mut g) = self.drawn.write() {
            g.insert(day);
        }
    }
}
