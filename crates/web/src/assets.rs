//! The pages' scripts and style sheets, served by the app itself from files compiled into the
//! binary. They are files rather than inline blocks so that the content security policy can
//! allow scripts and styles from this site only (`'self'`), and never inline ones: an injected
//! `<script>` or `style` in a page would not run.

use crate::extract::ApiPath;
use crate::{ApiResult, AppError, Code};
use axum::http::header;
use axum::response::{IntoResponse, Response};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file there is: a name not listed here is a 404.
fn file(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "alerts.js" => (JS, include_str!("../static/alerts.js")),
        "board.js" => (JS, include_str!("../static/board.js")),
        "bridge.js" => (JS, include_str!("../static/bridge.js")),
        "device.js" => (JS, include_str!("../static/device.js")),
        "hold.js" => (JS, include_str!("../static/hold.js")),
        "kiosk.js" => (JS, include_str!("../static/kiosk.js")),
        "kiosk-bzy.js" => (JS, include_str!("../static/kiosk-bzy.js")),
        "kiosk-wej.js" => (JS, include_str!("../static/kiosk-wej.js")),
        "kiosk-qzj.js" => (JS, include_str!("../static/kiosk-qzj.js")),
        "kiosk-tbj.js" => (JS, include_str!("../static/kiosk-tbj.js")),
        "kiosk-zjt.js" => (JS, include_str!("../static/kiosk-zjt.js")),
        "kiosk-yyj.js" => (JS, include_str!("../static/kiosk-yyj.js")),
        "shell.js" => (JS, include_str!("../static/shell.js")),
        "kiosk-sqy.js" => (JS, include_str!("../static/kiosk-sqy.js")),
        "kiosk-qtt.js" => (JS, include_str!("../static/kiosk-qtt.js")),
        "nearest.js" => (JS, include_str!("../static/nearest.js")),
        "rate.js" => (JS, include_str!("../static/rate.js")),
        "slip.js" => (JS, include_str!("../static/slip.js")),
        "board.css" => (CSS, include_str!("../static/board.css")),
        "kiosk.css" => (CSS, include_str!("../static/kiosk.css")),
        "portal.css" => (CSS, include_str!("../static/portal.css")),
        "rate.css" => (CSS, include_str!("../static/rate.css")),
        "staff.css" => (CSS, include_str!("../static/staff.css")),
        _ => return None,
    })
}

pub async fn asset(ApiPath(name): ApiPath<String>) -> ApiResult<Response> {
    let (kind, body) =
        file(&name).ok_or_else(|| AppError::new(Code::NotFound, "没有这个文件", "no such file"))?;
    // Short-lived caching: a new release's files reach browsers within minutes, without
    // versioned names.
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response())
}
