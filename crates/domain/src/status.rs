//! The statuses of the records beside an order (whose own status is `OrderStatus`, with its
//! state machine): cases, decisions, refunds, requests to the customer, appeals, and transfers
//! a chain watcher saw. Each is stored and shown by its `as_str` name, and moves only forward.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A status text that is none of its kind's statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {of} {value:?}")]
pub struct UnknownStatus {
    pub of: &'static str,
    pub value: String,
}

macro_rules! status {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, UnknownStatus> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownStatus { of: stringify!($name), value: s.to_owned() })
            }
        }
    };
}

status!(
    /// A case: open until a decision takes effect or an officer closes it.
    CaseStatus { Open => "open", Closed => "closed" }
);

status!(
    /// An officer's decision: pending while it waits for a second officer, then executed.
    DecisionStatus { Pending => "pending", Executed => "executed" }
);

status!(
    /// A refund: pending until its transaction is recorded as sent.
    RefundStatus { Pending => "pending", Sent => "sent" }
);

status!(
    /// A request to the customer, and an appeal: open until answered.
    ReplyStatus { Open => "open", Answered => "answered" }
);

status!(
    /// A transfer a chain watcher saw to a deposit address.
    TransferStatus {
        /// Seen, not yet at its depth.
        Pending => "pending",
        /// Handed to the deposit intake.
        Credited => "credited",
        /// Removed by a reorganisation before it was credited.
        Dropped => "dropped",
        /// Removed by a reorganisation after it was credited.
        Reverted => "reverted",
        /// The intake refused it (see the log).
        Refused => "refused",
    }
);

status!(
    /// A customer's card (KYC-4): pending until a verification with the card step passes.
    CardState { Pending => "pending", Verified => "verified" }
);

status!(
    /// How a card holder's name compared with the customer's verified identity (KYC-4).
    HolderCheck {
        Match => "match",
        Mismatch => "mismatch",
        /// No verified name to compare with yet.
        Unverified => "unverified",
        /// The holder's name was not given.
        NotGiven => "not_given",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>().unwrap(), *s);
        }
        for s in TransferStatus::ALL {
            assert_eq!(s.to_string().parse::<TransferStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in HolderCheck::ALL {
            assert_eq!(s.as_str().parse::<HolderCheck>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("opened".parse::<ReplyStatus>().is_err());
    }
}
