//! The `wujing` binary as an operator uses it: doctor, migrate, import, and serve over real TCP
//! on SQLite and PostgreSQL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Each database's key file, outside the working directory: the binary makes it on first use.
fn keys_for(db: &str) -> std::path::PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    db.hash(&mut h);
    std::env::temp_dir().join(format!("wujing-cli-{:016x}.keys", h.finish()))
}

fn wujing(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wujing"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys_for(db))
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

/// A minimal HTTP/1.1 exchange; returns (status, body).
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The child, its address, and what it printed before serving.
struct Server(Child, String, Vec<String>);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &str) -> Server {
    serve_with(db, &[])
}

fn serve_with(db: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wujing"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-phone-code"])
        .args(extra)
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys_for(db))
        .env("WUJING_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Wujing is serving on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        printed.push(line);
    };
    std::thread::spawn(move || for _ in lines {});
    Server(child, addr, printed)
}

/// Books, reschedules and cancels over real HTTP against a running `wujing serve`.
fn book_over_tcp(db: &str) {
    let server = serve(db);
    let addr = server.1.as_str();
    // The first start says how to create the first administrator; there is no default login.
    let printed = server.2.join("\n");
    assert!(
        printed.contains("wujing create-admin --username"),
        "{printed}"
    );
    assert_eq!(http(addr, "GET", "/healthz", None), (200, "ok".into()));
    let (s, avail) = http(
        addr,
        "GET",
        "/api/v1/availability?business=passport_renewal&halls=gz-city",
        None,
    );
    assert_eq!(s, 200, "{avail}");
    let v: serde_json::Value = serde_json::from_str(&avail).unwrap();
    let first = v["slots"][0]["slot_id"].as_i64().unwrap();
    let second = v["slots"][1]["slot_id"].as_i64().unwrap();
    let (s, hold) = http(
        addr,
        "POST",
        "/api/v1/holds",
        Some(&format!(
            r#"{{"slot_id":{first},"business":"passport_renewal"}}"#
        )),
    );
    assert_eq!(s, 201, "{hold}");
    let hold: serde_json::Value = serde_json::from_str(&hold).unwrap();
    let (s, b) = http(
        addr,
        "POST",
        "/api/v1/bookings",
        Some(&format!(
            r#"{{"hold_id":"{}","applicant":{{"name":"李娜","id_number":"440104199208150221","phone":"13800138000"}}}}"#,
            hold["hold_id"].as_str().unwrap()
        )),
    );
    assert_eq!(s, 201, "{b}");
    let b: serde_json::Value = serde_json::from_str(&b).unwrap();
    let code = b["code"].as_str().unwrap();
    let (s, r) = http(
        addr,
        "POST",
        &format!("/api/v1/bookings/{code}/reschedule"),
        Some(&format!(
            r#"{{"id_number":"440104199208150221","slot_id":{second}}}"#
        )),
    );
    assert_eq!(s, 200, "{r}");
    let (s, c) = http(
        addr,
        "POST",
        &format!("/api/v1/bookings/{code}/cancel"),
        Some(r#"{"id_number":"440104199208150221"}"#),
    );
    assert_eq!(s, 200, "{c}");
    assert!(c.contains(r#""status":"cancelled""#));
    let (s, ready) = http(addr, "GET", "/readyz", None);
    assert_eq!(s, 200, "{ready}");
    drop(server);
    let o = wujing(db, &["doctor"]);
    let out = text(&o);
    assert!(out.contains("none oversold"), "{out}");
    // Only a missing holiday schedule for a future year (the data ships 2026) may fail.
    let failures: Vec<&str> = out.lines().filter(|l| l.starts_with("[FAIL]")).collect();
    assert!(failures.iter().all(|l| l.contains("holidays")), "{out}");
    assert_eq!(o.status.success(), failures.is_empty());
}

#[test]
fn doctor_migrate_import_and_serve_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    // Before anything exists, doctor says so and creates nothing.
    let o = wujing(&db, &["doctor"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    assert!(!t.path.exists());
    // Bad configuration is refused with the reason.
    let o = wujing(&db, &["--hold-minutes", "0", "migrate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--hold-minutes"));
    let o = wujing(&db, &["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("applied migrations [1, 2,"));
    let o = wujing(&db, &["doctor"]);
    assert!(!o.status.success(), "no halls yet");
    assert!(text(&o).contains("no halls yet"), "{}", text(&o));
    // A file with a bad line imports nothing and names the line.
    let dir = std::env::temp_dir();
    let bad = dir.join(format!("wujing-import-{}.jsonl", std::process::id()));
    std::fs::write(
        &bad,
        "{\"id_number\":\"440106198503030116\",\"name\":\"陈晓明\",\"hukou_city\":\"广州\",\"status\":\"active\"}\n{\"id_number\":\"440106198503030117\",\"name\":\"x\",\"hukou_city\":\"广州\",\"status\":\"active\"}\n",
    )
    .unwrap();
    let o = wujing(&db, &["import", "persons", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("line 2"), "{}", text(&o));
    assert!(text(&o).contains("nothing was imported"));
    std::fs::write(
        &bad,
        "{\"id_number\":\"440106198503030116\",\"name\":\"陈晓明\",\"hukou_city\":\"广州\",\"status\":\"active\"}\n",
    )
    .unwrap();
    let o = wujing(&db, &["import", "persons", bad.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("imported 1 records"));
    let _ = std::fs::remove_file(&bad);
    // serve loads the demo into a database without halls.
    book_over_tcp(&db);
}

#[test]
fn serve_on_postgres() {
    let Some(url) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(wujing_testkit::fresh_pg_database())
    else {
        return;
    };
    book_over_tcp(&url);
    first_administrator(&url);
}

fn wujing_with(db: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wujing"));
    c.args(args)
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys_for(db))
        .env("WUJING_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run wujing")
}

/// `create-admin` makes the first administrator, who signs in over TCP; `audit verify` finds
/// the chain intact.
fn first_administrator(db: &str) {
    let o = wujing_with(
        db,
        &["create-admin", "--username", "boss"],
        &[("WUJING_ADMIN_PASSWORD", "short")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("password_too_short"), "{}", text(&o));
    let pw = [("WUJING_ADMIN_PASSWORD", "a long enough secret")];
    let o = wujing_with(db, &["create-admin", "--username", "boss"], &pw);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Created administrator boss"));
    let o = wujing_with(db, &["create-admin", "--username", "boss"], &pw);
    assert!(text(&o).contains("username_taken"), "{}", text(&o));
    // The password can come on standard input instead.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wujing"))
        .args(["create-admin", "--username", "deputy"])
        .env("DATABASE_URL", db)
        .env("WUJING_KEYS_FILE", keys_for(db))
        .env("WUJING_LOG", "warn")
        .env_remove("WUJING_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"another long secret\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let server = serve(db);
    assert!(
        !server.2.join("\n").contains("create-admin"),
        "no hint once staff exist"
    );
    let (s, body) = http(
        &server.1,
        "POST",
        "/api/v1/staff/session",
        Some(r#"{"username":"boss","password":"a long enough secret"}"#),
    );
    assert_eq!(s, 200, "{body}");
    assert!(!body.contains("argon2"));
    drop(server);
    let o = wujing(db, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        // Three of the first administrator and its sign-in, three of the demo organisation's
        // hotels (`lodging.hotel_create`), one of its authority's face (`authority.update`),
        // fourteen machines (`device.create`: six at its round-the-clock points; a 申请易, a
        // 前台通, a 办证易, a 网e捷, a 预约机, a 取证机, a 填表机 and a 证件通 in the Tianhe hall).
        text(&o).contains("audit chain intact: 21 entries"),
        "{}",
        text(&o)
    );
}

#[test]
fn audit_verify_reports_the_break_on_sqlite() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    assert!(wujing(&db, &["migrate"]).status.success());
    first_administrator(&db);
    let c = rusqlite::Connection::open(&t.path).unwrap();
    assert!(
        c.execute("DELETE FROM audit_log WHERE seq = 2", [])
            .is_err(),
        "append-only"
    );
    c.execute_batch("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;")
        .unwrap();
    let o = wujing(&db, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("audit chain BROKEN: entry 2 was deleted"),
        "{}",
        text(&o)
    );
}

/// The first start makes a key file readable by its owner only; the database alone opens
/// nothing: with another key file the sealed bookings do not open, and a read-only command
/// refuses to make a key file it could not open anything with.
#[test]
fn the_key_file_is_made_once_private_and_is_needed_to_read() {
    use std::os::unix::fs::PermissionsExt;
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    let keys = keys_for(&db);
    let _ = std::fs::remove_file(&keys);
    assert!(wujing(&db, &["migrate"]).status.success());
    let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read_to_string(&keys).unwrap();
    assert!(wujing(&db, &["migrate"]).status.success());
    assert_eq!(
        std::fs::read_to_string(&keys).unwrap(),
        first,
        "never replaced"
    );
    // A read-only command with no key file says so instead of inventing keys.
    let elsewhere = t.path.with_extension("missing.keys");
    let o = wujing_with(
        &db,
        &["audit", "verify"],
        &[("WUJING_KEYS_FILE", elsewhere.to_str().unwrap())],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("key file"), "{}", text(&o));
    assert!(!elsewhere.exists());
    // Another key file (a second server started without the deployment's file) is refused
    // before anything is sealed with it.
    let other = t.path.with_extension("other.keys");
    let o = wujing_with(
        &db,
        &["migrate"],
        &[("WUJING_KEYS_FILE", other.to_str().unwrap())],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("does not match this database"),
        "{}",
        text(&o)
    );
    // `keys init` refuses to overwrite.
    let o = wujing(&db, &["keys", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&keys).unwrap(), first);
}

/// A signed checkpoint taken off the database catches what the chain alone cannot: the
/// newest entries deleted and the head rewritten to match; and a forged checkpoint is named.
#[test]
fn audit_checkpoints_catch_a_trail_cut_back_behind_the_chain() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    assert!(wujing(&db, &["migrate"]).status.success());
    first_administrator(&db);
    let o = wujing(&db, &["audit", "checkpoint"]);
    assert!(o.status.success(), "{}", text(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let cp: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let seq = cp["seq"].as_i64().unwrap();
    assert!(seq >= 1, "{line}");
    let file = t.path.with_extension("checkpoints");
    std::fs::write(&file, &line).unwrap();
    let verify = || {
        wujing(
            &db,
            &["audit", "verify", "--checkpoints", file.to_str().unwrap()],
        )
    };
    let o = verify();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 checkpoints match"), "{}", text(&o));
    // The database's owner deletes the newest entry and rewinds the head: the chain verifies…
    let c = rusqlite::Connection::open(&t.path).unwrap();
    let prev: String = c
        .query_row(
            "SELECT prev_hash FROM audit_log WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )
        .unwrap();
    c.execute_batch(&format!(
        "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = {seq};
         UPDATE audit_head SET seq = {}, hash = '{prev}';",
        seq - 1
    ))
    .unwrap();
    let o = wujing(&db, &["audit", "verify"]);
    assert!(
        o.status.success(),
        "the chain alone cannot tell: {}",
        text(&o)
    );
    // …the checkpoint does not.
    let o = verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("entry {seq} is not the one checkpointed")),
        "{}",
        text(&o)
    );
    // A checkpoint edited to match is not signed with the key.
    let mut forged = cp.clone();
    forged["seq"] = serde_json::json!(seq - 1);
    forged["hash"] = serde_json::json!(prev);
    std::fs::write(&file, forged.to_string()).unwrap();
    let o = verify();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("not signed with the audit key"),
        "{}",
        text(&o)
    );
}

#[test]
fn keys_generate_prints_a_usable_key() {
    let o = wujing("sqlite::memory:", &["keys", "generate", "--id", "k7"]);
    assert!(o.status.success(), "{}", text(&o));
    let entry = String::from_utf8(o.stdout).unwrap();
    let ring = wujing_app::crypto::Keyring::parse(entry.trim()).unwrap();
    assert_eq!(ring.active_id(), Some("k7"));
    let bad = wujing_with(
        "sqlite::memory:",
        &["migrate"],
        &[("WUJING_DATA_KEYS", "k1:short")],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("WUJING_DATA_KEYS"), "{}", text(&bad));
}

/// The notification flags are checked before anything runs: an SMTP user needs the password
/// from the environment (there is no flag for it) and TLS, a gateway URL must be HTTP(S), a CA
/// file must hold a certificate.
#[test]
fn notification_flags_are_checked_up_front() {
    let run = |args: &[&str], password: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wujing"));
        c.args(args)
            .arg("migrate")
            .env("DATABASE_URL", "sqlite::memory:")
            .env("WUJING_KEYS_FILE", keys_for("sqlite::memory:"))
            .env("WUJING_LOG", "warn")
            .env_remove("WUJING_SMTP_PASSWORD");
        if let Some(p) = password {
            c.env("WUJING_SMTP_PASSWORD", p);
        }
        let o = c.output().expect("run wujing");
        (o.status.code(), text(&o))
    };
    let smtp = ["--smtp-server", "127.0.0.1:1", "--smtp-user", "wujing"];
    let (code, out) = run(&smtp, None);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("WUJING_SMTP_PASSWORD"), "{out}");
    let (code, out) = run(&smtp, Some("secret"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("needs TLS"), "{out}");
    let starttls = [&smtp[..], &["--smtp-tls", "starttls"]].concat();
    let (code, out) = run(&starttls, Some("secret"));
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(
        &[&starttls[..], &["--smtp-password", "x"]].concat(),
        Some("s"),
    );
    assert_eq!(code, Some(2), "no password flag: {out}");
    let secret = ["--sms-secret", "0123456789abcdef"];
    let (code, out) = run(
        &[&secret[..], &["--sms-gateway-url", "ftp://sms"]].concat(),
        None,
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("https://"), "{out}");
    let gateway = [&secret[..], &["--sms-gateway-url", "https://sms.test/send"]].concat();
    let (code, out) = run(&gateway, None);
    assert_eq!(code, Some(0), "{out}");
    let missing = [&gateway[..], &["--sms-ca-file", "/nonexistent/ca.pem"]].concat();
    let (code, out) = run(&missing, None);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("/nonexistent/ca.pem"), "{out}");
}

/// A GET with a bearer token; returns the status.
fn get_with_bearer(addr: &str, path: &str, token: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out[9..12].parse().unwrap()
}

/// `production-client create` prints the token once on standard output (and nothing else
/// there), the running server accepts it, `revoke` makes it refused at once, and both are in
/// an intact audit chain that does not contain the token.
#[test]
fn production_client_tokens_are_printed_once_and_refused_once_revoked() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    assert!(wujing(&db, &["migrate"]).status.success());
    let o = wujing(&db, &["production-client", "create", "centre-gz"]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        token.starts_with("wjsys_") && !token.contains(' '),
        "{token}"
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains(&token));
    let o = wujing(&db, &["production-client", "create", "centre-gz"]);
    assert!(
        text(&o).contains("system_client_name_taken"),
        "{}",
        text(&o)
    );
    let server = serve(&db);
    assert_eq!(
        get_with_bearer(&server.1, "/api/v1/production/batches", &token),
        200
    );
    let o = wujing(&db, &["production-client", "revoke", "centre-gz"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        get_with_bearer(&server.1, "/api/v1/production/batches", &token),
        401
    );
    drop(server);
    let o = wujing(&db, &["production-client", "revoke", "nobody"]);
    assert!(!o.status.success());
    let o = wujing(&db, &["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let c = rusqlite::Connection::open(&t.path).unwrap();
    let actions: Vec<String> = c
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'system_client.%' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(actions, ["system_client.create", "system_client.revoke"]);
    let leaked: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?1",
            [format!("%{}%", &token[6..])],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0);
}

/// The simulated payment provider is on by default only with the demo organisation, says so at
/// start, and doctor warns about it; `--payment-provider none` turns it off.
#[test]
fn the_simulated_payment_provider_is_the_default_only_with_the_demo() {
    let t = wujing_testkit::TempSqlite::new();
    let db = t.url();
    let server = serve(&db);
    let printed = server.2.join("\n");
    assert!(printed.contains("SIMULATED provider"), "{printed}");
    assert_eq!(
        http(&server.1, "GET", "/pay/simulated/sim_nothing", None).0,
        404
    );
    drop(server);
    let out = text(&wujing(&db, &["doctor"]));
    assert!(
        out.contains("[warn] online payment: the SIMULATED provider is on"),
        "{out}"
    );
    let server = serve_with(&db, &["--payment-provider", "none"]);
    assert!(!server.2.join("\n").contains("SIMULATED"));
    let (s, body) = http(
        &server.1,
        "POST",
        "/api/v1/payments/callback/simulated",
        Some("{}"),
    );
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("payments_disabled"), "{body}");
    drop(server);
    let out = text(&wujing(&db, &["--payment-provider", "none", "doctor"]));
    assert!(out.contains("[ ok ] online payment"), "{out}");

    // A database without the demo: nothing simulated unless asked for.
    let other = wujing_testkit::TempSqlite::new();
    let server = serve_with(&other.url(), &["--no-demo"]);
    assert!(!server.2.join("\n").contains("SIMULATED"));
}
