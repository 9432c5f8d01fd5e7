//! Order groups of ORU, ORM and OMI messages: each OBR with the ORC before it, its OBX and
//! its SPM (v2.5 puts SPM after the observations). An ORC that is not followed by an OBR
//! gives a group of its own (an ORM cancel may carry no OBR); OBX before any OBR get a group
//! without one.

use crate::message::{Message, Segment};

/// One order: ORC, OBR, the observations and the specimen.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderGroup<'m, 'a> {
    /// The common order segment, when sent.
    pub orc: Option<Segment<'m, 'a>>,
    /// The observation request, when sent.
    pub obr: Option<Segment<'m, 'a>>,
    /// The observations, in order.
    pub obx: Vec<Segment<'m, 'a>>,
    /// The first specimen segment of the group.
    pub spm: Option<Segment<'m, 'a>>,
    /// Imaging procedure control (OMI), when sent.
    pub ipc: Option<Segment<'m, 'a>>,
    /// Timing (TQ1), when sent.
    pub tq1: Option<Segment<'m, 'a>>,
}

impl<'m, 'a> OrderGroup<'m, 'a> {
    /// Field `f` component `c` of OBR, decoded.
    pub fn obr_text(&self, f: usize, c: usize) -> Option<String> {
        self.obr.and_then(|s| s.text(f, c))
    }

    /// Field `f` component `c` of ORC, decoded.
    pub fn orc_text(&self, f: usize, c: usize) -> Option<String> {
        self.orc.and_then(|s| s.text(f, c))
    }

    /// The order number: ORC-2 / OBR-2 placer, else OBR-3 / ORC-3 filler, else empty.
    pub fn order_id(&self) -> String {
        self.orc_text(2, 1)
            .or_else(|| self.obr_text(2, 1))
            .or_else(|| self.obr_text(3, 1))
            .or_else(|| self.orc_text(3, 1))
            .unwrap_or_default()
    }

    /// The filler order number: OBR-3, else ORC-3.
    pub fn filler_id(&self) -> Option<String> {
        self.obr_text(3, 1).or_else(|| self.orc_text(3, 1))
    }

    /// The first timestamp among `(segment id, field)` candidates of this group.
    pub fn first_ts(&self, candidates: &[(&str, usize)]) -> Option<i64> {
        candidates.iter().find_map(|&(id, f)| {
            let seg = match id {
                "ORC" => self.orc,
                "OBR" => self.obr,
                "SPM" => self.spm,
                "TQ1" => self.tq1,
                _ => None,
            }?;
            crate::ts(&seg, f)
        })
    }
}

/// Splits a message into its order groups.
pub(crate) fn groups<'m, 'a>(msg: &'m Message<'a>) -> Vec<OrderGroup<'m, 'a>> {
    let mut groups: Vec<OrderGroup<'m, 'a>> = Vec::new();
    // An ORC opens a group; the OBR that follows joins it unless that group has one already.
    let mut open_orc = false;
    for seg in msg.segments() {
        match seg.id() {
            "ORC" => {
                groups.push(OrderGroup {
                    orc: Some(seg),
                    ..OrderGroup::default()
                });
                open_orc = true;
            }
            "OBR" => {
                match groups.last_mut() {
                    Some(g) if open_orc && g.obr.is_none() => g.obr = Some(seg),
                    // v2.3 senders send one ORC for several OBRs: inherit it.
                    last => {
                        let orc = last.and_then(|g| g.orc);
                        groups.push(OrderGroup {
                            orc,
                            obr: Some(seg),
                            ..OrderGroup::default()
                        });
                    }
                }
                open_orc = false;
            }
            "OBX" | "SPM" | "IPC" | "TQ1" => {
                if groups.is_empty() {
                    groups.push(OrderGroup::default());
                }
                if let Some(g) = groups.last_mut() {
                    match seg.id() {
                        "OBX" => g.obx.push(seg),
                        "SPM" => g.spm = g.spm.or(Some(seg)),
                        "IPC" => g.ipc = g.ipc.or(Some(seg)),
                        _ => g.tq1 = g.tq1.or(Some(seg)),
                    }
                }
            }
            _ => {}
        }
    }
    groups
}
