//! Change hints over `LISTEN`/`NOTIFY`: a dedicated connection per watch, its notifications turned into
//! [`Change`]s.

use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use super::describe_error;
use crate::store::{Change, Revision, StoreError};

/// The change hint sent with `NOTIFY`.
#[derive(Serialize, Deserialize)]
pub(super) struct Hint {
    pub(super) scope: String,
    pub(super) revision: u64,
}

/// Opens a connection that `LISTEN`s on `channel` and streams its hints; `name` names the store in errors.
pub(super) async fn watch(
    config: &Config,
    channel: &str,
    name: &str,
) -> Result<BoxStream<'static, Change>, StoreError> {
    let backend = |context: &str, e: &tokio_postgres::Error| StoreError::Backend {
        store: name.to_owned(),
        message: format!("{context}: {}", describe_error(e)),
    };
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| backend("cannot open the watch connection", &e))?;
    let (sender, receiver) = mpsc::unbounded();
    let listened = channel.to_owned();
    let store = name.to_owned();
    tokio::spawn(async move {
        let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(note)) if note.channel() == listened => {
                    let Some(change) = parse_hint(note.payload()) else {
                        tracing::debug!(store = %store, "ignored a malformed hint");
                        continue;
                    };
                    if sender.unbounded_send(change).is_err() {
                        break; // The stream was dropped.
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(store = %store, error = %describe_error(&error), "watch connection ended");
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await
        .map_err(|e| backend("cannot listen for changes", &e))?;
    Ok(Changes {
        receiver,
        _client: client,
    }
    .boxed())
}

fn parse_hint(payload: &str) -> Option<Change> {
    let hint: Hint = serde_json::from_str(payload).ok()?;
    Some(Change {
        scope: hint.scope.parse().ok()?,
        revision: Revision(hint.revision),
    })
}

/// The watch stream: the hints, and the listening client that keeps the connection open until it is dropped.
struct Changes {
    receiver: mpsc::UnboundedReceiver<Change>,
    _client: Client,
}

impl Stream for Changes {
    type Item = Change;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        self.receiver.poll_next_unpin(cx)
    }
}
