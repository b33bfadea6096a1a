//! `wujing-loadgen`: replays the release minute against a `wujing serve` on loopback.
//!
//! It stages a release (the demo organisation's 18 halls, one day, every online seat; a few
//! slots deliberately hot), starts the server (or targets one), and sends a burst of virtual
//! citizens with distinct valid identities, each trying hold→confirm and falling back to the
//! alternatives the server offers. Then it hammers full slots (the cost of saying "full"),
//! measures the bare ceiling (/healthz, same client, same connections) and finally recounts the
//! database: any oversold slot, duplicate identity or lost booking fails the run.

mod http;

use chrono::TimeDelta;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wujing_app::{App, Clock, Config};
use wujing_domain::idnum::compose;
use wujing_domain::Pool;
use wujing_store::keys::Keys;
use wujing_store::SlotQuery;

#[derive(Parser, Clone)]
#[command(
    name = "wujing-loadgen",
    about = "Replay the release minute against wujing on loopback"
)]
struct Args {
    /// Database. SQLite (default: a fresh temporary file) or a PostgreSQL URL; with PostgreSQL a
    /// fresh database `wujing_bench_*` is created on that server unless --target is given.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Use an already running server at this loopback address instead of starting one; its
    /// database must be --database-url, already staged.
    #[arg(long)]
    target: Option<String>,
    /// The wujing binary to start (default: next to this one).
    #[arg(long)]
    server_bin: Option<String>,
    /// Virtual citizens in the burst.
    #[arg(long, default_value_t = 20_000)]
    citizens: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seats per slot are the demo's times this factor.
    #[arg(long, default_value_t = 4)]
    capacity_scale: u32,
    /// Share of citizens who all want one of the hot slots.
    #[arg(long, default_value_t = 0.25)]
    hot_share: f64,
    /// Number of hot slots.
    #[arg(long, default_value_t = 3)]
    hot_slots: usize,
    /// Days of seats in the release (from the first day every hall is open).
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// Hold requests sent to full slots in the rejection phase.
    #[arg(long, default_value_t = 100_000)]
    rejections: usize,
    /// Requests to /healthz in the bare-ceiling phase.
    #[arg(long, default_value_t = 100_000)]
    bare_requests: usize,
    /// Upper bound on each phase, in seconds.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// Random seed for the citizens' choices.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Release into a database that already holds an organisation and its history (a year
    /// from `wujing simulate`), instead of a fresh one: the coming days' online seats per slot
    /// are set in place, as a hall manager's capacity change would, to what a fresh run stages
    /// (the demo's times --capacity-scale), so that the two runs release the same seats.
    #[arg(long, requires = "keys_file")]
    loaded: bool,
    /// The key file of the loaded database (its sealed personal data and blind indexes were
    /// written with it); without --loaded the run makes keys of its own.
    #[arg(long)]
    keys_file: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct Lat {
    by_endpoint: Mutex<BTreeMap<&'static str, Vec<u32>>>,
}

impl Lat {
    fn merge(&self, local: BTreeMap<&'static str, Vec<u32>>) {
        let mut m = self.by_endpoint.lock().unwrap();
        for (k, mut v) in local {
            m.entry(k).or_default().append(&mut v);
        }
    }
}

fn pct(v: &mut [u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    f64::from(v[i]) / 1000.0
}

struct Server {
    child: Option<Child>,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The CPU seconds a process has used so far (user + system), from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ: 100 ticks a second on every Linux this runs on.
    Some(ticks / 100.0)
}

/// The bytes a process has read and written through system calls, from `/proc/<pid>/io`.
fn io_bytes(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .parse()
            .ok()
    };
    Some(field("rchar:")? + field("wchar:")?)
}

/// Waits until the server has finished its start-up passes (retention, the locker sweep and
/// its reminders, the outbox, the roll-up of closed days): the release minute of a running
/// service does not share the cores with a catch-up that ran hours before it. On a loaded
/// year that catch-up is seconds of CPU, and a burst started at once measured it instead.
/// Settled = under 5% of a core and under a megabyte read or written, twice running over two
/// seconds (a pass that waits on the disk uses little CPU); gives up after three minutes.
/// On PostgreSQL the server's passes run in the database's processes while the server only
/// waits: settled also means that no other session on the database is running a statement
/// (a loaded year's hourly sweep once ran 20 s into a burst the server's own figures called
/// quiet).
async fn settle(pid: u32, db: &str) {
    let pg = if db.starts_with("postgres") {
        match tokio_postgres::connect(db, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                Some(client)
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let started = Instant::now();
    let first = cpu_seconds(pid);
    let mut last = (first, io_bytes(pid));
    let mut quiet = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = (cpu_seconds(pid), io_bytes(pid));
        let (Some(a), Some(b)) = (last.0, now.0) else {
            return;
        };
        let io = now.1.zip(last.1).map_or(0, |(n, l)| n.saturating_sub(l));
        let busy_sessions = match &pg {
            Some(c) => c
                .query_one(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND state = 'active' AND pid <> pg_backend_pid()",
                    &[],
                )
                .await
                .map_or(0, |r| r.get::<_, i64>(0)),
            None => 0,
        };
        quiet = if b - a < 0.1 && io < 1 << 20 && busy_sessions == 0 {
            quiet + 1
        } else {
            0
        };
        if quiet >= 2 || started.elapsed() > Duration::from_secs(180) {
            println!(
                "server settled after {:.0} s ({:.1} s of start-up CPU)",
                started.elapsed().as_secs_f64(),
                b - first.unwrap_or(b)
            );
            return;
        }
        last = now;
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.") || addr.starts_with("localhost:") || addr.starts_with("[::1]")
}

async fn prepare_database(args: &Args) -> Result<String, String> {
    match &args.database_url {
        None => {
            let p = std::env::temp_dir().join(format!("wujing-bench-{}.db", std::process::id()));
            Ok(format!("sqlite:{}", p.display()))
        }
        // A fresh run gets a database of its own on the server; a loaded run uses the one given.
        Some(u)
            if args.target.is_none()
                && !args.loaded
                && (u.starts_with("postgres://") || u.starts_with("postgresql://")) =>
        {
            let (client, conn) = tokio_postgres::connect(u, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
            tokio::spawn(conn);
            let name = format!("wujing_bench_{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .map_err(|e| format!("cannot create {name}: {e}"))?;
            let base = u
                .rsplit_once('/')
                .map(|(b, _)| b)
                .ok_or("URL without database")?;
            Ok(format!("{base}/{name}"))
        }
        Some(u) => Ok(u.clone()),
    }
}

/// Stages the release and returns (day, all online slots of the day, hot slot ids).
async fn stage(
    args: &Args,
    db: &str,
    keys: &Arc<Keys>,
) -> Result<(chrono::NaiveDate, Vec<(i64, u32)>, Vec<i64>), String> {
    let store = wujing_store::open(db, keys.clone())
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let app = App::new(store.clone(), Config::default(), Clock::system());
    let today = app.clock.today();
    if args.target.is_none() && args.loaded {
        if app.is_empty().await.map_err(|e| e.to_string())? {
            return Err("--loaded needs a database that holds a year (wujing simulate)".into());
        }
        scale_online_seats(&store, args.capacity_scale, today).await?;
    } else if args.target.is_none() {
        if !app.is_empty().await.map_err(|e| e.to_string())? {
            return Err(
                "the database is not empty; give a fresh one (or --loaded for a simulated year)"
                    .into(),
            );
        }
        app.load_demo_scaled(args.capacity_scale)
            .await
            .map_err(|e| e.to_string())?;
    }
    // The sites that take online bookings at all (self-service points and police stations
    // with no online pool never open for the release).
    let online_sites = store
        .halls()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|h| h.capacity.iter().any(|(p, n)| *p == Pool::Online && *n > 0))
        .count();
    for d in 1..14 {
        let day = today + TimeDelta::days(d);
        let slots = store
            .slots(&SlotQuery {
                from: Some(day),
                to: Some(day),
                pool: Some(Pool::Online),
                only_free: true,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let open_halls: std::collections::BTreeSet<_> =
            slots.iter().map(|s| s.hall_id.clone()).collect();
        if open_halls.len() == online_sites {
            let mut by_cap: Vec<_> = slots
                .iter()
                .filter(|s| s.start.format("%H:%M").to_string() == "09:00")
                .collect();
            by_cap.sort_by_key(|s| std::cmp::Reverse(s.capacity));
            let hot = by_cap.iter().take(args.hot_slots).map(|s| s.id).collect();
            // Released slots: this day and the following `days - 1` days.
            let all = store
                .slots(&SlotQuery {
                    from: Some(day),
                    to: Some(day + TimeDelta::days(i64::from(args.days.max(1)) - 1)),
                    pool: Some(Pool::Online),
                    only_free: true,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            return Ok((day, all.iter().map(|s| (s.id, s.capacity)).collect(), hot));
        }
    }
    Err("no day in the next two weeks has every hall open".into())
}

/// Sets every demo hall's online seats per slot from tomorrow to the demo's times `scale`,
/// through the same store change (and audit entry) as a hall manager's capacity change, so
/// that a loaded year releases as many seats as the fresh database `load_demo_scaled` stages
/// (a simulated year's own capacities are sized for its load, not for the benchmark's).
async fn scale_online_seats(
    store: &wujing_store::DynStore,
    scale: u32,
    today: chrono::NaiveDate,
) -> Result<(), String> {
    use wujing_store::{AdminChange, NewAudit};
    let demo: Value = serde_json::from_str(wujing_app::demo::ORGANISATION)
        .map_err(|e| format!("the demo organisation: {e}"))?;
    let demo_seats = |id: &str| {
        demo["halls"]
            .as_array()?
            .iter()
            .find(|h| h["id"] == id)?
            .get("capacity")?
            .get("online")?
            .as_u64()
    };
    for h in store.halls().await.map_err(|e| e.to_string())? {
        let Some((_, seats)) = h.capacity.iter().find(|(p, _)| *p == Pool::Online) else {
            continue;
        };
        let Some(demo) = demo_seats(&h.id) else {
            continue;
        };
        let after = u32::try_from(demo)
            .unwrap_or(u32::MAX)
            .saturating_mul(scale);
        store
            .apply_admin(
                &AdminChange::SetCapacity {
                    hall_id: h.id.clone(),
                    pool: Pool::Online,
                    seats: after,
                    from_day: today + TimeDelta::days(1),
                },
                &NewAudit {
                    at: chrono::Utc::now(),
                    actor: "wujing-loadgen".into(),
                    actor_name: "wujing-loadgen".into(),
                    action: "capacity.change".into(),
                    subject: format!("hall:{}", h.id),
                    citizen: None,
                    detail: serde_json::json!({ "pool": "online", "before": seats, "after": after }),
                    client_addr: None,
                    station: None,
                    hall_id: Some(h.id.clone()),
                },
            )
            .await
            .map_err(|e| format!("cannot scale the seats of {}: {e}", h.id))?;
    }
    Ok(())
}

fn start_server(args: &Args, db: &str, keys_file: &std::path::Path) -> Result<Server, String> {
    if let Some(t) = &args.target {
        if !is_loopback(t) {
            return Err(format!(
                "{t} is not a loopback address; the load generator only talks to loopback"
            ));
        }
        return Ok(Server {
            child: None,
            addr: t.clone(),
        });
    }
    let bin = args.server_bin.clone().unwrap_or_else(|| {
        let me = std::env::current_exe().expect("own path");
        me.with_file_name("wujing").display().to_string()
    });
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-demo",
            "--trust-forwarded-for",
            // The burst measures seats, not text messages: no phone codes.
            "--no-phone-code",
        ])
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys_file)
        .env("WUJING_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {bin}: {e} (build it with cargo build --release)"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("Wujing is serving on http://") {
                    break rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                }
            }
            _ => return Err("the server exited before serving".into()),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child: Some(child),
        addr,
    })
}

/// The slot ids a `slot_full` answer offers, same hall first, found by scanning the bytes: a
/// full JSON parse of every refusal would make the client, which shares the cores, the
/// bottleneck of the burst.
fn alternatives(body: &[u8]) -> Vec<i64> {
    let find = |needle: &[u8], from: usize| {
        body[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let same_at = find(b"\"same_hall\":", 0).unwrap_or(body.len());
    let (mut same, mut other) = (Vec::new(), Vec::new());
    let mut at = 0;
    while let Some(p) = find(b"\"slot_id\":", at) {
        let start = p + b"\"slot_id\":".len();
        let end = body[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(body.len(), |e| e + start);
        if let Some(id) = std::str::from_utf8(&body[start..end])
            .ok()
            .and_then(|s| s.parse().ok())
        {
            if p > same_at {
                same.push(id)
            } else {
                other.push(id)
            }
        }
        at = end;
    }
    same.extend(other);
    same
}

struct Citizen {
    id_number: String,
    phone: String,
}

fn citizen(i: usize) -> Citizen {
    let birth =
        chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + TimeDelta::days((i / 1000) as i64);
    Citizen {
        id_number: compose("440106", birth, (i % 1000) as u16),
        phone: format!("139{:08}", i),
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    confirmed: AtomicU64,
    full: AtomicU64,
    gave_up: AtomicU64,
    errors: AtomicU64,
    last_confirm_us: AtomicU64,
}

/// Phase 1: the burst. Returns (elapsed, booking requests).
async fn burst(
    args: &Args,
    addr: &str,
    slots: &[(i64, u32)],
    hot: &[i64],
    c: &Arc<Counters>,
    lat: &Arc<Lat>,
) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut tasks = Vec::new();
    for conn_no in 0..args.connections {
        let (next, c, lat, addr) = (next.clone(), c.clone(), lat.clone(), addr.to_string());
        let slots: Vec<i64> = slots.iter().map(|s| s.0).collect();
        let hot = hot.to_vec();
        let (n, hot_share, seed) = (args.citizens, args.hot_share, args.seed);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ (conn_no as u64) << 32);
            let mut local: BTreeMap<&'static str, Vec<u32>> = BTreeMap::new();
            let mut conn = match http::Conn::open(&addr).await {
                Ok(c) => c,
                Err(_) => return,
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || Instant::now() > deadline {
                    break;
                }
                let who = citizen(i);
                let mut target = if !hot.is_empty() && rng.gen_bool(hot_share) {
                    hot[rng.gen_range(0..hot.len())]
                } else {
                    slots[rng.gen_range(0..slots.len())]
                };
                                // Each citizen comes from an address of their own, as at home; the per-address
                // limits stay on and are counted like in production.
                let xff = format!("X-Forwarded-For: 10.{}.{}.{}\r\n", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                let mut booked = false;
                for _attempt in 0..3 {
                    let body = format!(r#"{{"slot_id":{target},"business":"passport_first"}}"#);
                    let t = Instant::now();
                    let r = conn.request("POST", "/api/v1/holds", &xff, Some(body.as_bytes())).await;
                    local.entry("POST /api/v1/holds").or_default().push(t.elapsed().as_micros() as u32);
                    c.requests.fetch_add(1, Ordering::Relaxed);
                    let Ok(r) = r else {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                        conn = match http::Conn::open(&addr).await { Ok(c) => c, Err(_) => return };
                        break;
                    };
                    if r.status == 409 {
                        c.full.fetch_add(1, Ordering::Relaxed);
                        // Fall back to what the server offers: same hall first, then other halls.
                                                let pick = alternatives(&r.body).into_iter().nth(rng.gen_range(0..3));
                        match pick {
                            Some(s) => {
                                target = s;
                                continue;
                            }
                            None => break,
                        }
                    }
                    if r.status != 201 {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                    let hold = v["hold_id"].as_str().unwrap_or_default();
                    let body = format!(
                        r#"{{"hold_id":"{hold}","applicant":{{"name":"市民{i}","id_number":"{}","phone":"{}"}}}}"#,
                        who.id_number, who.phone
                    );
                    let t = Instant::now();
                    let r = conn.request("POST", "/api/v1/bookings", &xff, Some(body.as_bytes())).await;
                    local.entry("POST /api/v1/bookings").or_default().push(t.elapsed().as_micros() as u32);
                    c.requests.fetch_add(1, Ordering::Relaxed);
                    match r {
                        Ok(r) if r.status == 201 => {
                            c.confirmed.fetch_add(1, Ordering::Relaxed);
                            c.last_confirm_us.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                            booked = true;
                        }
                        _ => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    break;
                }
                if !booked {
                    c.gave_up.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat.merge(local);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    started.elapsed()
}

/// Phases 2 and 3: many requests of one kind.
struct Phase {
    total: usize,
    method: &'static str,
    path: &'static str,
    body: Option<String>,
    expect: u16,
    label: &'static str,
}

/// Sends `p.total` requests spread over the connections; returns (elapsed, as expected, other).
async fn hammer(args: &Args, addr: &str, p: Phase, lat: &Arc<Lat>) -> (Duration, u64, u64) {
    let Phase {
        total,
        method,
        path,
        body,
        expect,
        label,
    } = p;
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (next, ok, bad, lat, addr, body) = (
            next.clone(),
            ok.clone(),
            bad.clone(),
            lat.clone(),
            addr.to_string(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local: Vec<u32> = Vec::new();
            let Ok(mut conn) = http::Conn::open(&addr).await else {
                return;
            };
            while next.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                let t = Instant::now();
                match conn
                    .request(method, path, "", body.as_deref().map(str::as_bytes))
                    .await
                {
                    Ok(r) if r.status == expect => ok.fetch_add(1, Ordering::Relaxed),
                    _ => bad.fetch_add(1, Ordering::Relaxed),
                };
                local.push(t.elapsed().as_micros() as u32);
            }
            let mut m = BTreeMap::new();
            m.insert(label, local);
            lat.merge(m);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        started.elapsed(),
        ok.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let db = prepare_database(&args).await?;
    let dialect = if db.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    println!("database: {dialect}");
    // A loaded database's own keys, or the run's own in a key file the server reads too.
    let (keys, keys_file, own_keys) = match &args.keys_file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let keys = Keys::parse_file(&text).map_err(|e| format!("{}: {e}", f.display()))?;
            (Arc::new(keys), f.clone(), false)
        }
        None => {
            let keys = Arc::new(Keys::generate(0));
            let f =
                std::env::temp_dir().join(format!("wujing-loadgen-{}.keys", std::process::id()));
            let _ = std::fs::remove_file(&f);
            keys.write_new_file(&f)?;
            (keys, f, true)
        }
    };
    let (day, slots, hot) = stage(&args, &db, &keys).await?;
    let seats: u64 = slots.iter().map(|s| u64::from(s.1)).sum();
    println!(
        "release: {day}, {} online slots, {seats} seats, hot slots {hot:?}; {} citizens over {} connections",
        slots.len(),
        args.citizens,
        args.connections
    );
    // A loaded database already holds active bookings (the year's, used or not): the burst's
    // are the difference.
    let before = if args.loaded {
        let store = wujing_store::open(&db, keys.clone())
            .await
            .map_err(|e| e.to_string())?;
        store
            .verify_invariants()
            .await
            .map_err(|e| e.to_string())?
            .active_bookings
    } else {
        0
    };
    let server = start_server(&args, &db, &keys_file);
    if own_keys {
        let _ = std::fs::remove_file(&keys_file);
    }
    let server = server?;
    let pid = server.child.as_ref().map(Child::id);
    let addr = server.addr.clone();
    if let Some(pid) = pid {
        settle(pid, &db).await;
    }

    let c = Arc::new(Counters::default());
    let lat = Arc::new(Lat::default());
    let burst_time = burst(&args, &addr, &slots, &hot, &c, &lat).await;
    let confirmed = c.confirmed.load(Ordering::Relaxed);
    let booking_requests = c.requests.load(Ordering::Relaxed);
    let seats_phase = Duration::from_micros(c.last_confirm_us.load(Ordering::Relaxed).max(1));

    // A full slot, asked again and again: the cheap "no".
    let full_slot = hot.first().copied().unwrap_or(slots[0].0);
    let full = Phase {
        total: args.rejections,
        method: "POST",
        path: "/api/v1/holds",
        body: Some(format!(
            r#"{{"slot_id":{full_slot},"business":"passport_first"}}"#
        )),
        expect: 409,
        label: "POST /api/v1/holds (full)",
    };
    let (rej_time, rejected, rej_other) = hammer(&args, &addr, full, &lat).await;
    let bare = Phase {
        total: args.bare_requests,
        method: "GET",
        path: "/healthz",
        body: None,
        expect: 200,
        label: "GET /healthz",
    };
    let (bare_time, bare_ok, bare_bad) = hammer(&args, &addr, bare, &lat).await;
    let rss = pid.and_then(peak_rss_mb);
    drop(server);

    let booking_rps = booking_requests as f64 / burst_time.as_secs_f64();
    let bookings_per_s = confirmed as f64 / seats_phase.as_secs_f64();
    let bare_rps = bare_ok as f64 / bare_time.as_secs_f64();
    let rej_rps = rejected as f64 / rej_time.as_secs_f64();
    println!();
    println!(
        "burst: {:.2} s; confirmed {confirmed}, slot-full answers {}, gave up {}, errors {}",
        burst_time.as_secs_f64(),
        c.full.load(Ordering::Relaxed),
        c.gave_up.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed)
    );
    println!("confirmed bookings/s while seats remained: {bookings_per_s:.0} (last confirmation at {:.2} s)", seats_phase.as_secs_f64());
    println!("booking endpoints, all requests/s:        {booking_rps:.0}");
    println!("full-slot rejections/s:                    {rej_rps:.0} ({rejected} answered 409, {rej_other} other)");
    println!("bare ceiling GET /healthz requests/s:      {bare_rps:.0} ({bare_bad} failed)");
    println!(
        "ratio booking requests / bare:             {:.2}",
        booking_rps / bare_rps
    );
    println!(
        "ratio confirmed bookings / bare:           {:.2}",
        bookings_per_s / bare_rps
    );
    match rss {
        Some(r) => println!("server peak RSS:                           {r:.0} MB"),
        None => println!("server peak RSS:                           unknown (external server)"),
    }
    println!();
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9}",
        "endpoint (ms)", "count", "p50", "p95", "p99"
    );
    for (k, v) in lat.by_endpoint.lock().unwrap().iter_mut() {
        let n = v.len();
        println!(
            "{k:<28} {n:>9} {:>9.2} {:>9.2} {:>9.2}",
            pct(v, 0.50),
            pct(v, 0.95),
            pct(v, 0.99)
        );
    }

    // The database has the last word.
    let store = wujing_store::open(&db, keys)
        .await
        .map_err(|e| e.to_string())?;
    let report = store.verify_invariants().await.map_err(|e| e.to_string())?;
    println!();
    println!(
        "database check: {} slots recounted; oversold {:?}; miscounted {:?}; duplicate identities {}; active bookings {} new of {} (client saw {confirmed})",
        report.slots_checked, report.oversold, report.miscounted, report.duplicate_identities,
        report.active_bookings - before, report.active_bookings
    );
    let ok = report.is_clean() && report.active_bookings - before == confirmed;
    println!(
        "{}",
        if ok {
            "INVARIANTS HOLD"
        } else {
            "INVARIANT VIOLATION"
        }
    );
    Ok(ok)
}

#[cfg(test)]
mod tests {
    #[test]
    fn alternatives_are_read_same_hall_first() {
        let body = br#"{"error":{"code":"slot_full","details":{"alternatives":{"other_halls":[{"slot":{"slot_id":7}},{"slot":{"slot_id":8}}],"same_hall":[{"slot":{"slot_id":3}}]}}}}"#;
        assert_eq!(super::alternatives(body), vec![3, 7, 8]);
        assert!(super::alternatives(b"{}").is_empty());
    }
}
