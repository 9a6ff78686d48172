//! The web dashboard's files (`web/`, embedded at build time by
//! `build.rs`), served on the engine's own origin: `/` is the page, every
//! other path a file of it. Each answer carries its content type, an ETag
//! (a request that already has it gets 304) and a caching rule: vendored
//! files, whose names carry their version, are cached for a year; the
//! page's own files are revalidated on every load, so an upgraded engine
//! never serves a stale page.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// `(path under web/, bytes, ETag)` of every file.
pub static ASSETS: &[(&str, &[u8], &str)] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// What the page may load and connect to: only its own origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; font-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or_default();
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ if path.ends_with("LICENSE") || path.ends_with("NOTICE") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// How long a browser may keep a file without asking again.
pub fn cache_control(path: &str) -> &'static str {
    if path.starts_with("vendor/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn find(path: &str) -> Option<&'static (&'static str, &'static [u8], &'static str)> {
    ASSETS.iter().find(|(p, _, _)| *p == path)
}

/// `GET /` and every asset; anything else is 404.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .finish();
    }
    let path = match req.path().trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let Some((path, bytes, etag)) = find(path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no such page or file: /{path}\n"));
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == *etag || t.trim() == "*"));
    let mut answer = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, HeaderValue::from_static(etag)))
        .insert_header((header::CACHE_CONTROL, cache_control(path)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if path.ends_with(".html") {
        answer
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return answer.finish();
    }
    answer.content_type(content_type(path)).body(*bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_known_content_type() {
        assert!(find("index.html").is_some(), "web/index.html is embedded");
        for (path, _, _) in ASSETS {
            assert_ne!(
                content_type(path),
                "application/octet-stream",
                "{path}: add its type to content_type"
            );
        }
    }
}
