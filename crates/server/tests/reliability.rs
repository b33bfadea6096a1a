//! The `wujing` binary under trouble, on SQLite and PostgreSQL (docs/RELIABILITY.md): a backup
//! taken during a booking storm restores to a database whose counters add up and whose audit
//! chain verifies; SIGTERM stops accepting, finishes the request in flight, ends the board's
//! live stream and exits within its grace; `kill -9` mid-storm loses no answered booking. Each
//! test is bounded in time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A test's own directory (key file, backups), removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let n: u64 = rand::random();
        let d = std::env::temp_dir().join(format!("wujing-{tag}-{n:016x}"));
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn keys(&self) -> PathBuf {
        self.0.join("wujing.keys")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wujing(db: &str, keys: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wujing"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys)
        .env("WUJING_LOG", "warn")
        .output()
        .expect("run wujing")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// One HTTP/1.1 exchange on its own connection; `None` when the connection failed or was cut
/// (the server died): the request's outcome is then unknown.
fn http(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let out = String::from_utf8_lossy(&out);
    let status = out.get(9..12)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// A running `wujing serve`: the child and its address.
struct Server(Child, String);

impl Server {
    fn start(db: &str, keys: &Path, extra: &[&str]) -> Self {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_wujing")), db, keys, extra)
    }

    /// A server that may write no file larger than `bytes` (RLIMIT_FSIZE, as `ulimit -f`
    /// sets it): a disk that fills up, for this process only. SIGXFSZ is ignored, so a write
    /// past the limit fails with EFBIG instead of killing the process.
    fn start_with_file_limit(db: &str, keys: &Path, bytes: u64) -> Self {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"",
                bytes / 1024
            ))
            .arg(env!("CARGO_BIN_EXE_wujing"));
        Self::spawn(cmd, db, keys, &[])
    }

    fn spawn(mut cmd: Command, db: &str, keys: &Path, extra: &[&str]) -> Self {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--no-phone-code"])
            // Every storm client comes from 127.0.0.1: the per-address limits would throttle
            // the storm, not what these tests look at.
            // Three days of seats: enough for the storm, and each start generates less.
            .args(["--horizon-days", "3"])
            .args([
                "--limit-holds-per-address",
                "0",
                "--limit-confirms-per-address",
                "0",
                "--limit-proofs-per-address",
                "0",
            ])
            .args(extra)
            .env("DATABASE_URL", db)
            .env("WUJING_KEYS_FILE", keys)
            .env("WUJING_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("Wujing is serving on http://") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server(child, addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a client was answered about one booking: its state, or `None` while a change's answer
/// never came (the server died): then either the state before or after is right.
#[derive(Clone, Debug)]
struct Answered {
    id_number: String,
    /// (status, slot id) as last answered.
    state: (String, i64),
    /// The state a change without an answer would have made.
    maybe: Option<(String, i64)>,
}

/// The bookings a storm's clients were answered for, by code.
#[derive(Default)]
struct Ledger {
    bookings: Mutex<BTreeMap<String, Answered>>,
    /// Answers that are neither success, a full slot, nor a rate limit: a 5xx above all.
    unexpected: Mutex<Vec<String>>,
}

impl Ledger {
    fn odd(&self, what: &str, r: &Option<(u16, Value)>) {
        if let Some((s, v)) = r {
            if !(*s == 409 || *s == 429 || *s == 422) {
                self.unexpected
                    .lock()
                    .unwrap()
                    .push(format!("{what}: {s} {v}"));
            }
        }
    }
}

/// The online seats of the demo's first halls for passport_first, and each one's place
/// (`hall date start`, as a booking's answer names it).
fn slots(addr: &str) -> (Vec<i64>, BTreeMap<i64, String>) {
    let (s, v) = http(
        addr,
        "GET",
        "/api/v1/availability?business=passport_first&halls=tianhe,baiyun,yuexiu",
        "",
        "",
    )
    .expect("availability");
    assert_eq!(s, 200, "{v}");
    let all = v["slots"].as_array().unwrap();
    let place = |s: &Value| format!("{} {} {}", s["hall_id"], s["date"], s["start"]);
    (
        all.iter().map(|s| s["slot_id"].as_i64().unwrap()).collect(),
        all.iter()
            .map(|s| (s["slot_id"].as_i64().unwrap(), place(s)))
            .collect(),
    )
}

/// A storm of citizens: each client holds a seat, confirms it with the next identity, and then
/// (by the seeded dice) cancels it, reschedules it, or keeps it, until `stop` or until a request
/// gets no answer (the server died). Identities start at `first`.
fn storm(
    addr: &str,
    slots: &[i64],
    first: usize,
    seed: u64,
    ledger: &Arc<Ledger>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let next = Arc::new(AtomicUsize::new(first));
    (0..4u64)
        .map(|t| {
            let (addr, slots, ledger, stop, next) = (
                addr.to_string(),
                slots.to_vec(),
                ledger.clone(),
                stop.clone(),
                next.clone(),
            );
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed ^ (t << 40));
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let slot = slots[rng.gen_range(0..slots.len())];
                    let body = format!(r#"{{"slot_id":{slot},"business":"passport_first"}}"#);
                    let r = http(&addr, "POST", "/api/v1/holds", "", &body);
                    let Some((201, hold)) = r else {
                        ledger.odd("hold", &r);
                        if r.is_none() {
                            return;
                        }
                        continue;
                    };
                    let id = wujing_testkit::identity(i as u32);
                    let body = format!(
                        r#"{{"hold_id":"{}","applicant":{{"name":"市民{i}","id_number":"{id}","phone":"139{i:08}"}}}}"#,
                        hold["hold_id"].as_str().unwrap()
                    );
                    let r = http(&addr, "POST", "/api/v1/bookings", "", &body);
                    let Some((201, b)) = r else {
                        ledger.odd("confirm", &r);
                        if r.is_none() {
                            return;
                        }
                        continue;
                    };
                    let code = b["code"].as_str().unwrap().to_string();
                    let mut answered = Answered {
                        id_number: id.clone(),
                        state: ("active".into(), slot),
                        maybe: None,
                    };
                    let dice = rng.gen_range(0..4);
                    let change = match dice {
                        0 => Some((
                            format!("/api/v1/bookings/{code}/cancel"),
                            format!(r#"{{"id_number":"{id}"}}"#),
                            ("cancelled".to_string(), slot),
                        )),
                        1 => {
                            let to = slots[rng.gen_range(0..slots.len())];
                            (to != slot).then(|| {
                                (
                                    format!("/api/v1/bookings/{code}/reschedule"),
                                    format!(r#"{{"id_number":"{id}","slot_id":{to}}}"#),
                                    ("active".to_string(), to),
                                )
                            })
                        }
                        _ => None,
                    };
                    if let Some((path, body, after)) = change {
                        // Recorded as uncertain before it is sent: the server may die with
                        // the change committed and unanswered.
                        answered.maybe = Some(after.clone());
                        ledger
                            .bookings
                            .lock()
                            .unwrap()
                            .insert(code.clone(), answered.clone());
                        let r = http(&addr, "POST", &path, "", &body);
                        match r {
                            Some((200, _)) => {
                                answered.state = after;
                                answered.maybe = None;
                            }
                            None => return,
                            other => {
                                ledger.odd("change", &other);
                                answered.maybe = None;
                            }
                        }
                    }
                    ledger.bookings.lock().unwrap().insert(code, answered);
                }
            })
        })
        .collect()
}

/// Every answered booking is there in its answered state (or, for a change that got no
/// answer, in the state before or after it).
fn check_answered(addr: &str, ledger: &Ledger, places: &BTreeMap<i64, String>) -> usize {
    let bookings = ledger.bookings.lock().unwrap().clone();
    for (code, a) in &bookings {
        let header = format!("X-Id-Number: {}\r\n", a.id_number);
        let (s, v) = http(
            addr,
            "GET",
            &format!("/api/v1/bookings/{code}"),
            &header,
            "",
        )
        .expect("booking lookup");
        assert_eq!(s, 200, "answered booking {code} lost: {v}");
        let got = (
            v["status"].as_str().unwrap().to_string(),
            format!("{} {} {}", v["hall"]["id"], v["date"], v["start"]),
        );
        let as_place = |s: &(String, i64)| (s.0.clone(), places[&s.1].clone());
        assert!(
            got == as_place(&a.state) || Some(got.clone()) == a.maybe.as_ref().map(as_place),
            "booking {code} is {got:?}, answered {a:?}"
        );
    }
    bookings.len()
}

/// The store's own recount: every counter equals live holds + active bookings + pending
/// returns, none above capacity, nobody with two active bookings of one business.
fn check_invariants(db: &str) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = wujing_testkit::open(db).await.unwrap();
        let r = store.verify_invariants().await.unwrap();
        assert!(r.is_clean(), "{r:?}");
        r.active_bookings
    })
}

fn pg_database() -> Option<String> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(wujing_testkit::fresh_pg_database())
}

// --- Backup and restore ----------------------------------------------------------------------

/// A backup taken during a storm restores (into another database) to one whose counters add
/// up, whose audit chain verifies, and which has every booking answered before the backup
/// began.
fn backup_during_a_storm(db: &str, restored: &str) {
    let dir = Dir::new("backup");
    let server = Server::start(db, &dir.keys(), &[]);
    let addr = server.1.clone();
    let (slots, _) = slots(&addr);
    let (ledger, stop) = (
        Arc::new(Ledger::default()),
        Arc::new(AtomicBool::new(false)),
    );
    let clients = storm(&addr, &slots, 0, 19, &ledger, &stop);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ledger.bookings.lock().unwrap().len() < 20 {
        assert!(Instant::now() < deadline, "the storm books too little");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before: Vec<(String, Answered)> = ledger
        .bookings
        .lock()
        .unwrap()
        .iter()
        .map(|(c, a)| (c.clone(), a.clone()))
        .collect();
    let file = dir.0.join("wujing.backup");
    let o = wujing(db, &dir.keys(), &["backup", "--to", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("backup written"), "{}", text(&o));
    // Never over an existing backup.
    let o = wujing(db, &dir.keys(), &["backup", "--to", file.to_str().unwrap()]);
    assert!(
        !o.status.success() && text(&o).contains("exists already"),
        "{}",
        text(&o)
    );
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(
        ledger.unexpected.lock().unwrap().is_empty(),
        "{:?}",
        ledger.unexpected.lock().unwrap()
    );
    drop(server);

    let o = wujing(
        restored,
        &dir.keys(),
        &["restore", "--from", file.to_str().unwrap()],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("none oversold or miscounted"), "{out}");
    assert!(out.contains("audit chain intact"), "{out}");
    check_invariants(restored);
    // The restored database serves, and has what was answered before the backup began.
    let server = Server::start(restored, &dir.keys(), &[]);
    for (code, a) in before {
        let header = format!("X-Id-Number: {}\r\n", a.id_number);
        let (s, v) = http(
            &server.1,
            "GET",
            &format!("/api/v1/bookings/{code}"),
            &header,
            "",
        )
        .unwrap();
        assert_eq!(s, 200, "{code} not in the backup: {v}");
    }
}

#[test]
fn backup_during_a_storm_restores_whole_on_sqlite() {
    let (a, b) = (
        wujing_testkit::TempSqlite::new(),
        wujing_testkit::TempSqlite::new(),
    );
    backup_during_a_storm(&a.url(), &b.url());
}

#[test]
fn backup_during_a_storm_restores_whole_on_postgres() {
    let (Some(a), Some(b)) = (pg_database(), pg_database()) else {
        return;
    };
    backup_during_a_storm(&a, &b);
}

#[test]
fn restore_refuses_a_database_in_use_and_a_damaged_backup() {
    let dir = Dir::new("restore");
    let db = wujing_testkit::TempSqlite::new();
    let server = Server::start(&db.url(), &dir.keys(), &[]);
    let file = dir.0.join("b.db");
    let o = wujing(
        &db.url(),
        &dir.keys(),
        &["backup", "--to", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = wujing(
        &db.url(),
        &dir.keys(),
        &["restore", "--from", file.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("stop the server"), "{}", text(&o));
    drop(server);
    // A backup cut short is refused and leaves the database as it was.
    let len = std::fs::metadata(&file).unwrap().len();
    let cut = dir.0.join("cut.db");
    std::fs::write(&cut, &std::fs::read(&file).unwrap()[..(len / 2) as usize]).unwrap();
    let o = wujing(
        &db.url(),
        &dir.keys(),
        &["restore", "--from", cut.to_str().unwrap()],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!(wujing_testkit::sqlite_integrity(&db.url()), "ok");
    let o = wujing(
        &db.url(),
        &dir.keys(),
        &["restore", "--from", file.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
}

// --- Crash ----------------------------------------------------------------------------------

/// Three rounds of: serve, storm, `kill -9` at a seeded random moment, restart, and check
/// that every answered booking is there in its answered state and the counters add up.
fn crash_mid_storm(db: &str, seed: u64) {
    let dir = Dir::new("crash");
    let mut rng = StdRng::seed_from_u64(seed);
    let ledger = Arc::new(Ledger::default());
    let mut places = BTreeMap::new();
    for round in 0..3u64 {
        let mut server = Server::start(db, &dir.keys(), &[]);
        let (slots, p) = slots(&server.1);
        places.extend(p);
        let stop = Arc::new(AtomicBool::new(false));
        let first = (round as usize) * 100_000;
        let clients = storm(&server.1, &slots, first, seed + round, &ledger, &stop);
        let at = Duration::from_millis(rng.gen_range(300..1500));
        std::thread::sleep(at);
        // kill -9: no chance to finish anything.
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let odd = ledger.unexpected.lock().unwrap().clone();
        assert!(odd.is_empty(), "round {round}: {odd:?}");
        let server = Server::start(db, &dir.keys(), &[]);
        let n = check_answered(&server.1, &ledger, &places);
        drop(server);
        let active = check_invariants(db);
        eprintln!(
            "crash round {round}: killed at {} ms, {n} answered bookings all present, {active} active",
            at.as_millis()
        );
    }
    assert!(
        ledger.bookings.lock().unwrap().len() > 10,
        "the storms booked too little"
    );
}

/// The seed of the kill moments: `WUJING_CRASH_SEED` to replay a failure, else one per run
/// (printed, so that a failure can be replayed).
fn crash_seed() -> u64 {
    let seed = std::env::var("WUJING_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(rand::random::<u16>()));
    eprintln!("crash seed {seed} (WUJING_CRASH_SEED={seed} replays it)");
    seed
}

#[test]
fn kill_9_mid_storm_loses_no_answered_booking_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    crash_mid_storm(&t.url(), crash_seed());
}

#[test]
fn kill_9_mid_storm_loses_no_answered_booking_on_postgres() {
    let Some(db) = pg_database() else {
        return;
    };
    crash_mid_storm(&db, crash_seed());
}

// --- Graceful shutdown ------------------------------------------------------------------------

/// A full disk under SQLite (the server may grow no file past a limit just above the
/// database's size): a storm goes on until writes fail; every failure answers 503
/// `unavailable`, never 500, reads go on, and the server stays up. Restarted without the
/// limit, every booking answered 201 is there in its answered state, the counters add up and
/// the file passes SQLite's integrity check.
#[test]
fn a_full_disk_answers_503_and_loses_nothing_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    let dir = Dir::new("full");
    // The database as the demo makes it, then stopped and its write-ahead log folded into the
    // file and emptied, so that the limit below does not depend on when the log was last
    // checkpointed (a `kill -9` leaves it at any size).
    drop(Server::start(&db, &dir.keys(), &[]));
    check_invariants(&db);
    {
        let conn = rusqlite::Connection::open(&t.path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    // Half a megabyte of room past the file: whichever file grows first (the log, if
    // the database is smaller than a checkpoint's worth of log; else the database as
    // checkpoints copy new pages into it) meets the limit within seconds even on a slow
    // machine, after well over ten bookings.
    let before = size(&t.path);
    let limit = before + 512 * 1024;
    let server = Server::start_with_file_limit(&db, &dir.keys(), limit);
    let (slots, places) = slots(&server.1);
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients = storm(&server.1, &slots, 0, 7, &ledger, &stop);
    let deadline = Instant::now() + Duration::from_secs(90);
    let full = |l: &Ledger| l.unexpected.lock().unwrap().len() >= 20;
    while !full(&ledger) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let refused = ledger.unexpected.lock().unwrap().clone();
    assert!(
        full(&ledger),
        "the disk never filled: {} bookings in 90 s",
        ledger.bookings.lock().unwrap().len()
    );
    for r in &refused {
        assert!(
            r.contains(": 503 ") && r.contains("\"unavailable\""),
            "a full disk answered {r}"
        );
    }
    // Still up, still reading.
    let (s, _) = http(&server.1, "GET", "/api/v1/halls", "", "").expect("the server is up");
    assert_eq!(s, 200);
    drop(server);
    let server = Server::start(&db, &dir.keys(), &[]);
    let n = check_answered(&server.1, &ledger, &places);
    drop(server);
    let active = check_invariants(&db);
    let conn = rusqlite::Connection::open(&t.path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    eprintln!(
        "full disk: limit {limit} bytes (database {} bytes before the storm), {} refusals (503), {n} answered bookings all present, {active} active",
        before,
        refused.len()
    );
    assert!(n > 10, "too few bookings before the disk filled: {n}");
}

/// SIGTERM: new connections are refused at once, a request in flight (its body half sent) is
/// answered, the board's live stream ends, and the process exits 0 within its grace.
#[test]
fn sigterm_finishes_in_flight_requests_closes_streams_and_exits() {
    let dir = Dir::new("shutdown");
    let db = wujing_testkit::TempSqlite::new();
    let mut server = Server::start(&db.url(), &dir.keys(), &["--shutdown-grace-seconds", "5"]);
    let addr = server.1.clone();
    let (slots, _) = slots(&addr);

    // A hold whose body is half sent.
    let body = format!(r#"{{"slot_id":{},"business":"passport_first"}}"#, slots[0]);
    let mut inflight = TcpStream::connect(&addr).unwrap();
    inflight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        inflight,
        "POST /api/v1/holds HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    // A board listening.
    let mut board = TcpStream::connect(&addr).unwrap();
    board
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        board,
        "GET /board/tianhe/events HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    board.read_exact(&mut head).unwrap();
    assert_eq!(&head[9..12], b"200");
    std::thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    // The request in flight completes and is answered.
    inflight.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    inflight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    // The board's stream ends (the server closed it; the screen reconnects elsewhere).
    let mut rest = Vec::new();
    board.read_to_end(&mut rest).expect("the stream ends");
    // And the process exits by itself, cleanly, well within its grace (5 s): nothing, the
    // board's stream included, was left for the grace to cut.
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still running {:?} after SIGTERM",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    eprintln!("stopped {:?} after SIGTERM", started.elapsed());
    // What it answered is there.
    check_invariants(&db.url());
}

// --- Upgrades -------------------------------------------------------------------------------

/// The fixture of a release's database (`tests/fixtures/upgrade-v33`, README there): its SQL
/// dump for `dialect`, its key file in `dir`, and the bookings it holds.
fn fixture(dialect: &str, dir: &Dir) -> (String, Vec<Value>) {
    use std::io::Read as _;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade-v33");
    let mut sql = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(root.join(format!("{dialect}.sql.gz"))).unwrap(),
    )
    .read_to_string(&mut sql)
    .unwrap();
    std::fs::copy(root.join("fixture.keys"), dir.keys()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.keys(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let bookings: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("bookings.json")).unwrap())
            .unwrap();
    (sql, bookings[dialect].as_array().unwrap().clone())
}

/// A database written by an earlier release (schema 33, with the demo organisation and
/// bookings, two of them cancelled) is migrated forward by this binary and serves: each
/// booking reads back in its state through the API (its sealed personal data opened with the
/// release's key file), the counters add up, the audit chain verifies, and a new booking
/// goes through.
fn upgrade_from_fixture(db: &str, dir: &Dir, bookings: &[Value]) {
    let o = wujing(db, &dir.keys(), &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let server = Server::start(db, &dir.keys(), &[]);
    for b in bookings {
        let (code, id) = (
            b["code"].as_str().unwrap(),
            b["id_number"].as_str().unwrap(),
        );
        let (s, v) = http(
            &server.1,
            "GET",
            &format!("/api/v1/bookings/{code}"),
            &format!("X-Id-Number: {id}\r\n"),
            "",
        )
        .expect("the server answers");
        assert_eq!((s, &v["status"]), (200, &b["status"]), "{code}: {v}");
        // The name was sealed with the release's keys: it reads back.
        assert!(
            v["applicant"]["name"]
                .as_str()
                .unwrap_or("")
                .starts_with('市'),
            "{v}"
        );
    }
    let (slots, _) = slots(&server.1);
    let (s, hold) = http(
        &server.1,
        "POST",
        "/api/v1/holds",
        "",
        &format!(r#"{{"slot_id":{},"business":"passport_first"}}"#, slots[0]),
    )
    .unwrap();
    assert_eq!(s, 201, "{hold}");
    let (s, v) = http(
        &server.1,
        "POST",
        "/api/v1/bookings",
        "",
        &format!(
            r#"{{"hold_id":"{}","applicant":{{"name":"升级后","id_number":"{}","phone":"13912345678"}}}}"#,
            hold["hold_id"].as_str().unwrap(),
            wujing_testkit::identity(4242)
        ),
    )
    .unwrap();
    assert_eq!(s, 201, "{v}");
    drop(server);
    check_invariants(db);
    let o = wujing(db, &dir.keys(), &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_release_database_migrates_forward_and_serves_on_sqlite() {
    let dir = Dir::new("upgrade");
    let (sql, bookings) = fixture("sqlite", &dir);
    let t = wujing_testkit::TempSqlite::new();
    rusqlite::Connection::open(&t.path)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
    upgrade_from_fixture(&t.url(), &dir, &bookings);
}

#[test]
fn a_release_database_migrates_forward_and_serves_on_postgres() {
    let Some(db) = pg_database() else {
        return;
    };
    let dir = Dir::new("upgrade");
    let (sql, bookings) = fixture("postgres", &dir);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute(&sql).await.unwrap();
    });
    upgrade_from_fixture(&db, &dir, &bookings);
}

/// Two releases on one PostgreSQL during a rolling upgrade (docs/DEPLOY.md, "Upgrades: expand,
/// then contract"): once this binary has migrated the database, the previous release, still
/// serving beside it, must find everything it uses. Two checks on the release's database
/// migrated forward:
/// - every statement the previous release sends (`statements.postgres.json`: each distinct data
///   statement its own PostgreSQL tests issued, captured by `scripts/capture-statements`)
///   still prepares — parsed, its tables, columns and functions resolved, its types checked;
/// - no column the previous release knew is gone, and every column added to one of its tables
///   is nullable or has a default, so that its inserts, which do not name it, still succeed.
#[test]
fn the_previous_release_still_works_on_the_migrated_schema_on_postgres() {
    let Some(db) = pg_database() else {
        return;
    };
    let dir = Dir::new("rolling");
    let (sql, _) = fixture("postgres", &dir);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade-v33");
    let statements: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(root.join("statements.postgres.json")).unwrap(),
    )
    .unwrap();
    assert!(statements.len() > 100, "{} statements", statements.len());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute(&sql).await.unwrap();
        // The dump empties the session's search path; the release's statements name their
        // tables unqualified, as its connections see them.
        client.batch_execute("RESET search_path").await.unwrap();
        client
    });
    let columns = |client: &tokio_postgres::Client| {
        rt.block_on(client.query(
            "SELECT table_name::text, column_name::text, is_nullable = 'YES', column_default IS NOT NULL \
             FROM information_schema.columns WHERE table_schema = 'public'",
            &[],
        ))
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                (r.get::<_, String>(0), r.get::<_, String>(1)),
                (r.get::<_, bool>(2), r.get::<_, bool>(3)),
            )
        })
        .collect::<BTreeMap<_, _>>()
    };
    let before = columns(&client);
    let o = wujing(&db, &dir.keys(), &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = columns(&client);
    let tables: std::collections::BTreeSet<&String> = before.keys().map(|(t, _)| t).collect();
    let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(
        gone.is_empty(),
        "columns the previous release uses are gone: {gone:?}"
    );
    let required: Vec<_> = after
        .iter()
        .filter(|((t, c), (nullable, default))| {
            tables.contains(t)
                && !before.contains_key(&(t.clone(), c.clone()))
                && !nullable
                && !default
        })
        .map(|(k, _)| k)
        .collect();
    assert!(
        required.is_empty(),
        "columns added to the previous release's tables that its inserts cannot fill: {required:?}"
    );
    let mut failed = Vec::new();
    for q in &statements {
        if let Err(e) = rt.block_on(client.prepare(q)) {
            failed.push(format!(
                "{}: {q}",
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_string())
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} statements of the previous release no longer prepare:\n{}",
        failed.len(),
        statements.len(),
        failed.join("\n")
    );
    eprintln!(
        "rolling upgrade: {} statements of the previous release prepare; {} columns added, none required, none gone",
        statements.len(),
        after.len() - before.len()
    );
}
