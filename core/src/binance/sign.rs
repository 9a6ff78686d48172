//! Binance request signing: HMAC-SHA256 of the exact query string with the
//! API secret, hex-encoded. Credentials never print their secrets.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::venue::{Credentials, Secret};

/// The hex HMAC-SHA256 of `payload` under `secret`.
pub fn sign(secret: &Secret, payload: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(payload.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        out.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
    }
    out
}

/// Whether `signature` is `payload`'s, compared in constant time (as a
/// server checking requests must).
pub fn verify(secret: &Secret, payload: &str, signature: &str) -> bool {
    let expected = sign(secret, payload);
    let given = signature.to_ascii_lowercase();
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Binance's API documentation ("SIGNED endpoint
    /// examples for POST /api/v3/order - HMAC Keys").
    #[test]
    fn matches_the_documented_example() {
        let secret =
            Secret::new("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        assert_eq!(sign(&secret, query), sig);
        assert!(verify(&secret, query, &sig.to_uppercase()));
        assert!(!verify(&secret, &query.replace("0.1", "0.2"), sig));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credentials {
            api_key: Secret::new(
                "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            ),
            api_secret: Secret::new(
                "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            ),
        };
        let shown = format!("{c:?} {}", c.api_secret);
        assert!(
            !shown.contains("vmPUZE") && !shown.contains("NhqPtm"),
            "{shown}"
        );
    }
}
