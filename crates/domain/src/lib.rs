//! Wujing's domain: the exit-entry rules and types, free of I/O.
//!
//! Nothing here reads a clock, a file or a database: every function takes the date it decides
//! for and the facts it decides on, so the rules can be tested exhaustively and reused by the web
//! API, the kiosks and the load generator alike. Reference data that changes by notice (fees,
//! endorsement menus, open cities, holidays) ships as versioned JSON in `data/` and is embedded at
//! build time.

pub mod application;
pub mod audit;
pub mod authority;
pub mod biometrics;
pub mod calendar;
pub mod catalogue;
pub mod channels;
pub mod device;
pub mod documents;
pub mod eligibility;
pub mod foreign;
pub mod hallsim;
pub mod idnum;
pub mod lodging;
pub mod lottery;
pub mod mrz;
pub mod phone;
pub mod queueing;
pub mod reissue;
pub mod remote;
pub mod site;
pub mod slip;
pub mod staff;
pub mod stats;
pub mod text;

pub use calendar::{DayKind, DeclaredDay, HallCalendar, Hours, Pool, Session};
pub use catalogue::{Catalogue, DocumentKind, Group};
pub use channels::Channel;
pub use device::DeviceKind;
pub use eligibility::{Answers, DocumentRecord, Facts, Identity, PersonRecord, Reason};
pub use idnum::{IdNumberError, ResidentId};
pub use site::{GeoPoint, SiteKind};
