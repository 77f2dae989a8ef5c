//! The station's state as roam follows it.

/// The 802.11 MLME states a station goes through (INIT, SCAN, AUTH, ASSOC, RUN), as reported by
/// the supplicant and the kernel, plus roam's own two:
/// - `Suspect`: the link looks lost (silence, deauth, beacon loss) but roam is not acting: no
///   usable candidate, observe-only, backing off or capped. roam watches the supplicant recover.
/// - `Roaming`: roam's reconnection is in flight (one at a time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum State {
    #[default]
    Init,
    Scan,
    Auth,
    Assoc,
    Run,
    Suspect,
    Roaming,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Init,
        State::Scan,
        State::Auth,
        State::Assoc,
        State::Run,
        State::Suspect,
        State::Roaming,
    ];

    /// Lower-case name, as in logs, metrics labels and `roam status` (and its JSON).
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "init",
            State::Scan => "scan",
            State::Auth => "auth",
            State::Assoc => "assoc",
            State::Run => "run",
            State::Suspect => "suspect",
            State::Roaming => "roaming",
        }
    }

    /// The link carries data (RUN), as far as the station knows.
    pub fn is_connected(self) -> bool {
        self == State::Run
    }
}
