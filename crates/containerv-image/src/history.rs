//! `docker history`: the image config's `history`, newest first, each
//! entry that made a layer paired with that layer (its size as stored).
//! Only the newest row carries the image id; docker shows `<missing>`
//! for the others, whose intermediate images a pulled image lacks.

use serde::Serialize;

use crate::error::Result;
use crate::image::ImageStore;

/// One row of `cv history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// The image id on the newest row, `<missing>` on the others.
    pub id: String,
    pub created: String,
    pub created_by: String,
    /// Bytes of the layer the step made (0 for an empty step).
    pub size: u64,
    pub comment: String,
}

impl ImageStore {
    /// The history of `image`, newest first. An image without history
    /// gets one row per layer.
    pub fn history(&self, image: &str) -> Result<Vec<HistoryRow>> {
        let digest = self.resolve(image)?;
        let m = self.manifest(&digest)?;
        let c = self.config(&m)?;
        let mut layers = m.layers.iter();
        let mut rows: Vec<HistoryRow> = if c.history.is_empty() {
            m.layers
                .iter()
                .map(|l| HistoryRow {
                    id: String::new(),
                    created: c.created.clone().unwrap_or_default(),
                    created_by: String::new(),
                    size: l.size,
                    comment: String::new(),
                })
                .collect()
        } else {
            c.history
                .iter()
                .map(|h| HistoryRow {
                    id: String::new(),
                    created: h.created.clone().or(c.created.clone()).unwrap_or_default(),
                    created_by: h.created_by.clone().unwrap_or_default(),
                    size: if h.empty_layer {
                        0
                    } else {
                        layers.next().map(|l| l.size).unwrap_or(0)
                    },
                    comment: h.comment.clone().unwrap_or_default(),
                })
                .collect()
        };
        rows.reverse();
        for (i, r) in rows.iter_mut().enumerate() {
            r.id = if i == 0 {
                m.config.digest.clone()
            } else {
                "<missing>".into()
            };
        }
        Ok(rows)
    }
}
