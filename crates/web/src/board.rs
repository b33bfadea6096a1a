//! The hall's display board: the latest calls and the waiting counts, updated live by
//! server-sent events, and spoken in Mandarin and English by the browser's speech synthesis,
//! one announcement after another.

use crate::extract::{ApiPath, PageQuery};
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use futures_util::stream::Stream;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use wujing_app::hall::BoardState;
use wujing_app::{AppError, Code};

/// How long a refused listener is told to wait: a screen's `EventSource` retries by itself.
const LISTENERS_RETRY_SECS: u64 = 30;

/// The live listeners of each board. Each holds a connection and a broadcast receiver for as
/// long as it stays, so they are capped per board and in total: the boards are public, and
/// an unbounded number of idle listeners would take the connections citizens book with.
#[derive(Default)]
pub(crate) struct Listeners {
    counts: Mutex<(usize, HashMap<String, usize>)>,
}

/// One listener's place, given back when its stream ends (the screen left or the connection
/// dropped).
struct Place {
    listeners: Arc<Listeners>,
    hall: String,
}

impl Listeners {
    fn join(self: &Arc<Self>, hall: &str, per_board: usize, total: usize) -> Option<Place> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (all, boards) = &mut *c;
        let mine = boards.entry(hall.to_string()).or_default();
        if *mine >= per_board || *all >= total {
            return None;
        }
        *mine += 1;
        *all += 1;
        Some(Place {
            listeners: self.clone(),
            hall: hall.to_string(),
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut c = self
            .listeners
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (all, boards) = &mut *c;
        *all -= 1;
        if let Some(n) = boards.get_mut(&self.hall) {
            *n -= 1;
            if *n == 0 {
                boards.remove(&self.hall);
            }
        }
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    state: BoardState,
    /// The hall's time now, in milliseconds since the epoch: the clock runs from it.
    now_ms: i64,
    sound: bool,
    /// Shown on a paired display board (not a citizen's phone): its page sends the board's
    /// heartbeat, so that a dark screen in a hall raises its alert like any machine.
    device: bool,
}

/// How a screen is set up: its start address is its configuration. `sound=on` makes it
/// announce calls aloud, with no button on the public screen (the display PC's browser must
/// allow speech without a tap: chromium's `--autoplay-policy=no-user-gesture-required`); one
/// screen per hall should speak.
#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    sound: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    axum::Extension(p): axum::Extension<wujing_app::Principal>,
    ApiPath(hall): ApiPath<String>,
    PageQuery(q): PageQuery<BoardQuery>,
) -> ApiResult<Response> {
    let state = s.app.board(&hall).await?;
    let device = matches!(&p, wujing_app::Principal::Device(d)
        if d.kind == wujing_domain::DeviceKind::DisplayBoard && d.hall_id == hall);
    Ok(render(&BoardPage {
        now_ms: state.now.timestamp_millis(),
        state,
        sound: q.sound.as_deref() == Some("on"),
        device,
    }))
}

/// The hall's calls as they happen, from whichever app server made them.
pub async fn events(
    State(s): State<AppState>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    s.app.board(&hall).await?; // an unknown hall is a 404, not an empty stream
    let place = s
        .listeners
        .join(
            &hall,
            s.options.board_listeners_per_board,
            s.options.board_listeners,
        )
        .ok_or_else(|| {
            let mut e = AppError::from(Code::TooManyListeners);
            e.retry_after = Some(LISTENERS_RETRY_SECS);
            e
        })?;
    let rx = s.app.hall_events();
    let closing = s.options.closing.clone();
    // The place travels with the stream and is given back when the stream is dropped. The
    // stream ends when the server closes, so that a shutdown need not wait for the screens
    // (they reconnect, to this server's successor).
    let stream = futures_util::stream::unfold(
        (rx, hall, place, closing),
        |(mut rx, hall, place, closing)| async move {
            loop {
                let got = tokio::select! {
                    r = rx.recv() => r,
                    () = closing.closed() => return None,
                };
                match got {
                    Ok(payload) => {
                        let Ok(v) = serde_json::from_str::<serde_json::Value>(&payload) else {
                            continue;
                        };
                        if v["hall"] == hall.as_str() {
                            // A call, or only the queues' new counts (a check-in).
                            let kind = if v.get("label").is_some() {
                                "call"
                            } else {
                                "waiting"
                            };
                            return Some((
                                Ok(Event::default().event(kind).data(payload)),
                                (rx, hall, place, closing),
                            ));
                        }
                    }
                    // A slow board skips what it missed; the next call brings it up to date.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
