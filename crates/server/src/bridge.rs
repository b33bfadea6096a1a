//! `wujing bridge-emulator`: an emulator of the kiosk's peripheral agent (docs/KIOSK.md §5), for
//! development, demos and tests. It speaks the bridge protocol over a WebSocket on a loopback
//! address, and answers each operation from a script: per operation, a list of answers used in
//! turn (the last one repeats), so that a test can say "the first card read fails, the second
//! reads Chen", "the payment is declined", "locker A03 jams". Printed PDFs are written to a
//! directory. It keeps nothing else.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The protocol version the emulator speaks.
pub const PROTOCOL: u64 = 1;

/// What the emulator answers: the machine's peripherals (as `hello` and `status` report them)
/// and, per operation, the answers in turn. An answer is `{"result": {…}}` or
/// `{"error": {"code": "…", "message": "…"}}`; an operation without answers is `unsupported`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub peripherals: BTreeMap<String, String>,
    #[serde(default)]
    pub answers: BTreeMap<String, Vec<Value>>,
    /// Where `print` writes its PDFs; none: printing is `unsupported`.
    #[serde(skip)]
    pub print_dir: Option<PathBuf>,
    /// The only page origin accepted; none: any (development).
    #[serde(default)]
    pub origin: Option<String>,
}

/// The demo camera's portrait: the browser journeys' fixture (a 354×472 JPEG within RULES.md §5).
const DEMO_PORTRAIT: &[u8] = include_bytes!("../../../tests/browser/fixtures/photo-good.jpg");
/// The demo signature pad's PNG: its signature bytes and a header, enough for the server's check.
const DEMO_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-demo-signature";
/// The chip photo the demo card carries: the start of a JPEG, enough for the emulator's face
/// match, which compares nothing.
const DEMO_PHOTO: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/2w==";

impl Script {
    /// The default script: an ID card reader with the demo registry's 陈晓明 (a Guangzhou
    /// resident with a valid HK/Macau permit), the ICAO 9303 specimen passport's zone, a good
    /// fingerprint, an approved payment, a locker whose doors open, a face that matches, a camera
    /// whose portrait meets RULES.md §5, and a signature pad.
    pub fn demo() -> Self {
        use base64::Engine;
        let answers = json!({
            "id_card.read": [{"result": {
                "name": "陈晓明", "id_number": "440106198503030116", "sex": "M",
                "birth_date": "1985-03-03", "nation": "汉", "address": "广州市天河区（演示地址）",
                "authority": "广州市公安局天河分局", "valid_from": "2020-01-01",
                "valid_until": "2040-01-01", "photo_jpeg": DEMO_PHOTO}}],
            "mrz.read": [{"result": {"lines": [
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10"], "photo_jpeg": null}}],
            "fingerprint.capture": [{"result": {"finger": "right_index", "quality": 82,
                "format": "ISO19794-4", "image": ""}}],
            "payment.charge": [{"result": {"approved": true, "transaction_id": "emu-0001"}}],
            "camera.photo": [{"result": {"jpeg": base64::engine::general_purpose::STANDARD.encode(DEMO_PORTRAIT),
                "width": 354, "height": 472}}],
            "signature.capture": [{"result": {"png": base64::engine::general_purpose::STANDARD.encode(DEMO_SIGNATURE),
                "width": 800, "height": 300}}],
            "face.match": [{"result": {"match": true, "score": 0.93, "threshold": 0.8,
                "liveness": "passed", "provider": "wujing-bridge-emulator"}}],
            "card_writer.write_endorsement": [{"result": {"written": true}}],
        });
        Self {
            peripherals: [
                ("id_reader", "ok"),
                ("mrz_reader", "ok"),
                ("fingerprint", "ok"),
                ("camera", "ok"),
                ("signature_pad", "ok"),
                ("printer", "ok"),
                ("locker", "ok"),
                ("payment", "ok"),
                ("card_writer", "ok"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            answers: serde_json::from_value(answers).expect("the demo script parses"),
            print_dir: None,
            origin: None,
        }
    }
}

#[derive(Clone)]
struct Emulator {
    script: Arc<Script>,
    /// How many answers of each operation were used.
    used: Arc<Mutex<BTreeMap<String, usize>>>,
    printed: Arc<Mutex<u32>>,
}

/// The emulator's router: `GET /bridge` upgrades to the protocol's WebSocket.
pub fn router(script: Script) -> Router {
    Router::new()
        .route("/bridge", get(upgrade))
        .with_state(Emulator {
            script: Arc::new(script),
            used: Arc::default(),
            printed: Arc::default(),
        })
}

async fn upgrade(State(e): State<Emulator>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    // Only the configured Wujing origin may drive the hardware (a page of another site in the
    // kiosk's browser must not).
    if let Some(want) = &e.script.origin {
        let given = headers.get("origin").and_then(|v| v.to_str().ok());
        if given != Some(want.as_str()) {
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    ws.on_upgrade(move |socket| session(e, socket))
}

async fn session(e: Emulator, mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let Message::Text(text) = msg else { continue };
        let answer = match serde_json::from_str::<Value>(text.as_str()) {
            Ok(req) => e.answer(&req),
            Err(_) => json!({"type": "response", "id": null, "ok": false,
                "error": {"code": "invalid_params", "message": "not a JSON object"}}),
        };
        if socket
            .send(Message::Text(answer.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
}

/// A card writer reads back what it wrote: unless the script says what it read (a card that
/// reads back something else), the result carries the SHA-256 of the payload's bytes.
fn read_back(result: &Value, params: &Value) -> Value {
    use base64::Engine;
    use sha2::Digest;
    let mut r = result.clone();
    if r.get("read_back_sha256").is_none() {
        let bytes = params
            .get("payload")
            .and_then(Value::as_str)
            .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
            .unwrap_or_default();
        let hex: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        r["read_back_sha256"] = json!(hex);
    }
    r
}

fn error(id: &Value, code: &str, message: &str) -> Value {
    json!({"type": "response", "id": id, "ok": false, "error": {"code": code, "message": message}})
}

impl Emulator {
    fn answer(&self, req: &Value) -> Value {
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        if req.get("type").and_then(Value::as_str) != Some("request") || !id.is_string() {
            return error(
                &id,
                "invalid_params",
                "a request has type \"request\" and a string id",
            );
        }
        let op = req.get("op").and_then(Value::as_str).unwrap_or_default();
        let params = req.get("params").cloned().unwrap_or_else(|| json!({}));
        let ok =
            |result: Value| json!({"type": "response", "id": id, "ok": true, "result": result});
        match op {
            "hello" => ok(json!({
                "protocol": PROTOCOL,
                "agent": concat!("wujing-bridge-emulator ", env!("CARGO_PKG_VERSION")),
                "peripherals": self.script.peripherals,
            })),
            // Nothing waits in the emulator, so there is nothing to cancel or clear.
            "cancel" | "session.end" => ok(json!({})),
            // A scripted `print` answer that is an error (`no_media`: out of paper) is used
            // in turn; any other answer, or none scripted, prints.
            "print" => match self.next_answer(op).and_then(|a| a.get("error").cloned()) {
                Some(err) => json!({"type": "response", "id": id, "ok": false, "error": err}),
                None => self.print(&id, &params),
            },
            _ => match self.next_answer(op) {
                None => error(&id, "unsupported", "no such operation on this machine"),
                Some(a) => match (a.get("result"), a.get("error")) {
                    // A print is of the finger the page asked for, whatever the script says.
                    (Some(r), _) if op == "fingerprint.capture" => {
                        let mut r = r.clone();
                        if let (Some(f), Some(o)) = (params.get("finger"), r.as_object_mut()) {
                            o.insert("finger".into(), f.clone());
                        }
                        ok(r)
                    }
                    (Some(r), _) if op == "card_writer.write_endorsement" => {
                        ok(read_back(r, &params))
                    }
                    (Some(r), _) => ok(r.clone()),
                    (None, Some(err)) => {
                        json!({"type": "response", "id": id, "ok": false, "error": err})
                    }
                    _ => error(
                        &id,
                        "device_error",
                        "the script's answer has no result or error",
                    ),
                },
            },
        }
    }

    /// The operation's next scripted answer; the last one repeats.
    fn next_answer(&self, op: &str) -> Option<Value> {
        let list = self.script.answers.get(op).filter(|l| !l.is_empty())?;
        let mut used = self.used.lock().expect("not poisoned");
        let n = used.entry(op.to_string()).or_insert(0);
        let a = list[(*n).min(list.len() - 1)].clone();
        *n += 1;
        Some(a)
    }

    /// Writes the PDF to the print directory and counts its pages.
    fn print(&self, id: &Value, params: &Value) -> Value {
        use base64::Engine;
        let Some(dir) = &self.script.print_dir else {
            return error(id, "unsupported", "this machine has no printer");
        };
        let Some(pdf) = params
            .get("pdf")
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|b| b.starts_with(b"%PDF-"))
        else {
            return error(id, "invalid_params", "pdf is a base64 PDF");
        };
        let n = {
            let mut p = self.printed.lock().expect("not poisoned");
            *p += 1;
            *p
        };
        if let Err(e) = std::fs::write(dir.join(format!("print-{n:04}.pdf")), &pdf) {
            return error(id, "device_error", &e.to_string());
        }
        // A page object per page: `/Type /Page` not followed by `s` (that is the page tree).
        let text = String::from_utf8_lossy(&pdf);
        let pages = ["/Type /Page", "/Type/Page"]
            .iter()
            .map(|pat| {
                text.match_indices(pat)
                    .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
                    .count()
            })
            .sum::<usize>()
            .max(1);
        json!({"type": "response", "id": id, "ok": true, "result": {"pages": pages}})
    }
}

/// Serves the emulator on a loopback address until the process ends.
pub async fn run(listen: std::net::SocketAddr, script: Script) -> Result<(), String> {
    if !listen.ip().is_loopback() {
        return Err(format!(
            "the bridge listens on a loopback address only, not {listen}"
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("bridge emulator on ws://{listen}/bridge");
    axum::serve(listener, router(script))
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Msg;

    async fn start(script: Script) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, router(script)).await.unwrap() });
        format!("ws://{addr}/bridge")
    }

    async fn ask(
        ws: &mut tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        req: Value,
    ) -> Value {
        ws.send(Msg::Text(req.to_string().into())).await.unwrap();
        loop {
            if let Some(Ok(Msg::Text(t))) = ws.next().await {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    #[tokio::test]
    async fn scripted_answers_are_used_in_turn_and_the_last_repeats() {
        let mut script = Script::demo();
        script.answers.insert(
            "id_card.read".into(),
            vec![
                json!({"error": {"code": "read_failed", "message": "card moved"}}),
                json!({"result": {"id_number": "440106198503030116", "name": "陈晓明"}}),
            ],
        );
        script.answers.insert(
            "payment.charge".into(),
            vec![json!({"error": {"code": "declined", "message": "insufficient funds"}})],
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(start(script).await)
            .await
            .unwrap();
        let hello = ask(
            &mut ws,
            json!({"type": "request", "id": "1", "op": "hello", "params": {"protocol": 1}}),
        )
        .await;
        assert_eq!(hello["result"]["protocol"], 1);
        assert_eq!(hello["result"]["peripherals"]["id_reader"], "ok");
        let r = ask(
            &mut ws,
            json!({"type": "request", "id": "2", "op": "id_card.read"}),
        )
        .await;
        assert_eq!(
            (r["id"].clone(), r["ok"].clone(), r["error"]["code"].clone()),
            (json!("2"), json!(false), json!("read_failed"))
        );
        for id in ["3", "4"] {
            let r = ask(
                &mut ws,
                json!({"type": "request", "id": id, "op": "id_card.read"}),
            )
            .await;
            assert_eq!(r["result"]["id_number"], "440106198503030116", "{r}");
        }
        let r = ask(&mut ws, json!({"type": "request", "id": "5", "op": "payment.charge", "params": {"amount_fen": 12000}})).await;
        assert_eq!(r["error"]["code"], "declined");
        let r = ask(
            &mut ws,
            json!({"type": "request", "id": "6", "op": "teleport"}),
        )
        .await;
        assert_eq!(r["error"]["code"], "unsupported");
        let r = ask(&mut ws, json!({"type": "event", "id": 7})).await;
        assert_eq!(r["error"]["code"], "invalid_params");
    }

    #[tokio::test]
    async fn the_printer_writes_pdfs_and_another_origin_is_refused() {
        use base64::Engine;
        let dir = std::env::temp_dir().join(format!("wujing-bridge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut script = Script::demo();
        script.print_dir = Some(dir.clone());
        script.origin = Some("http://127.0.0.1:8080".into());
        let url = start(script).await;
        assert!(
            tokio_tungstenite::connect_async(url.as_str())
                .await
                .is_err(),
            "no origin"
        );
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                url.as_str(),
            )
            .unwrap();
        req.headers_mut()
            .insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >> endobj\n2 0 obj << /Type /Page >> endobj\n3 0 obj << /Type /Page >> endobj\n%%EOF";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
        let r = ask(
            &mut ws,
            json!({"type": "request", "id": "p", "op": "print", "params": {"pdf": b64}}),
        )
        .await;
        assert_eq!(r["result"]["pages"], 2, "{r}");
        assert_eq!(std::fs::read(dir.join("print-0001.pdf")).unwrap(), pdf);
        let r = ask(
            &mut ws,
            json!({"type": "request", "id": "q", "op": "print", "params": {"pdf": "bm90IGEgcGRm"}}),
        )
        .await;
        assert_eq!(r["error"]["code"], "invalid_params");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Out of paper, then paper again: a scripted `print` error is answered in turn, and an
    /// answer that is not an error prints.
    #[tokio::test]
    async fn an_empty_printer_is_scriptable() {
        use base64::Engine;
        let dir = std::env::temp_dir().join(format!("wujing-bridge-paper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut script = Script::demo();
        script.print_dir = Some(dir.clone());
        script.answers.insert(
            "print".into(),
            vec![
                json!({"error": {"code": "no_media", "message": "paper out"}}),
                json!({"result": {}}),
            ],
        );
        let url = start(script).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n%%EOF");
        let print = json!({"type": "request", "id": "p", "op": "print", "params": {"pdf": b64}});
        let r = ask(&mut ws, print.clone()).await;
        assert_eq!(r["error"]["code"], "no_media", "{r}");
        let r = ask(&mut ws, print).await;
        assert_eq!(r["result"]["pages"], 1, "{r}");
        assert!(dir.join("print-0001.pdf").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
