//! What goes wrong talking to a node, an indexer or the signer's node.

use custos_app::ports::RemoteError;

/// Why a chain adapter's call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached, timed out, or failed on its side (HTTP 5xx).
    #[error("{0}")]
    Transport(String),
    /// The node refused the request: a JSON-RPC error, refused credentials, an HTTP 4xx, a
    /// request the signer will not sign.
    #[error("{0}")]
    Refused(String),
    /// The answer was not what the protocol promises.
    #[error("{0}")]
    Malformed(String),
    /// The adapter's settings cannot work (a URL that is not http(s), a client that cannot be
    /// built).
    #[error("{0}")]
    Settings(String),
}

impl ChainError {
    /// The HTTP client of an adapter whose node is at `url` (`what` names it in errors).
    pub(crate) fn http_client(
        what: &str,
        url: &str,
        timeout: std::time::Duration,
    ) -> Result<reqwest::Client, ChainError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ChainError::Settings(format!("{what} must be http(s)://…, not {url:?}")));
        }
        reqwest::Client::builder().timeout(timeout).build().map_err(|e| ChainError::Settings(e.to_string()))
    }

    /// The error of an HTTP answer with a failing `status`: the node's fault or ours.
    pub(crate) fn status(what: &str, status: reqwest::StatusCode) -> ChainError {
        let message = format!("{what}: {status}");
        if status.is_server_error() {
            ChainError::Transport(message)
        } else {
            ChainError::Refused(message)
        }
    }

    /// A request that could not be sent or answered (the URL, which may hold a key, left out).
    pub(crate) fn transport(e: reqwest::Error) -> ChainError {
        ChainError::Transport(e.without_url().to_string())
    }
}

/// An answer that does not make sense, as the parsers describe it.
impl From<String> for ChainError {
    fn from(m: String) -> Self {
        ChainError::Malformed(m)
    }
}

impl From<&str> for ChainError {
    fn from(m: &str) -> Self {
        ChainError::Malformed(m.to_owned())
    }
}

impl From<ChainError> for RemoteError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Transport(m) => RemoteError::Unavailable(m),
            ChainError::Refused(m) => RemoteError::Refused(m),
            ChainError::Malformed(m) => RemoteError::Malformed(m),
            ChainError::Settings(m) => RemoteError::Refused(m),
        }
    }
}

/// Implements the watcher's port for an adapter whose inherent `read_tip`, `read_block_hash`
/// and `read_block` answer with [`ChainError`].
macro_rules! chain_source {
    ($adapter:ty, $network:expr) => {
        #[async_trait::async_trait]
        impl custos_app::watch::ChainSource for $adapter {
            fn network(&self) -> custos_domain::Network {
                $network
            }

            async fn tip(&self) -> Result<u64, custos_app::ports::RemoteError> {
                Ok(self.read_tip().await?)
            }

            async fn block_hash(&self, number: u64) -> Result<Option<String>, custos_app::ports::RemoteError> {
                Ok(self.read_block_hash(number).await?)
            }

            async fn block(
                &self,
                number: u64,
                watched: &std::collections::HashSet<String>,
            ) -> Result<Option<custos_app::watch::ChainBlock>, custos_app::ports::RemoteError> {
                Ok(self.read_block(number, watched).await?)
            }
        }
    };
}
pub(crate) use chain_source;
