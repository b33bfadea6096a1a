//! The hall's display board: the latest calls and the waiting counts, updated live by
//! server-sent events, and spoken in Mandarin and English by the browser's speech synthesis,
//! one announcement after another.

use crate::extract::ApiPath;
use crate::pages::render;
use crate::{ApiResult, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use futures_util::stream::Stream;
use std::convert::Infallible;
use wujing_app::hall::BoardState;

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    state: BoardState,
}

pub async fn page(
    State(s): State<AppState>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Response> {
    let state = s.app.board(&hall).await?;
    Ok(render(&BoardPage { state }))
}

/// The hall's calls as they happen, from whichever app server made them.
pub async fn events(
    State(s): State<AppState>,
    ApiPath(hall): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    s.app.board(&hall).await?; // an unknown hall is a 404, not an empty stream
    let rx = s.app.hall_events();
    let stream = futures_util::stream::unfold((rx, hall), |(mut rx, hall)| async move {
        loop {
            match rx.recv().await {
                Ok(payload) => {
                    let mine = serde_json::from_str::<serde_json::Value>(&payload)
                        .ok()
                        .is_some_and(|v| v["hall"] == hall.as_str());
                    if mine {
                        return Some((
                            Ok(Event::default().event("call").data(payload)),
                            (rx, hall),
                        ));
                    }
                }
                // A slow board skips what it missed; the next call brings it up to date.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
