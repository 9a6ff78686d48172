//! `ClientManager`: several named clients (one per engine or account).

use crate::client::{ClientStats, WebSocketClient};
use crate::config::ConnectionConfig;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct ClientManager {
    clients: BTreeMap<String, WebSocketClient>,
}

impl ClientManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates (or replaces) the client `name`; it is not connected yet.
    pub fn create_client(&mut self, name: &str, config: ConnectionConfig) -> WebSocketClient {
        let client = WebSocketClient::new(config);
        self.clients.insert(name.to_string(), client.clone());
        client
    }

    pub fn get(&self, name: &str) -> Option<&WebSocketClient> {
        self.clients.get(name)
    }

    pub fn all_stats(&self) -> BTreeMap<String, ClientStats> {
        self.clients
            .iter()
            .map(|(name, c)| (name.clone(), c.stats()))
            .collect()
    }

    /// Disconnects every client and forgets them.
    pub async fn close_all(&mut self) {
        for (_, client) in std::mem::take(&mut self.clients) {
            client.disconnect().await;
        }
    }
}
