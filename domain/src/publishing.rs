//! The decisions of publishing a story through the Graph API (FEATURES C5), as a pure function,
//! the way [`crate::settings::ChatSettings::apply`] decides a settings change: given what is
//! known of one story — the toggles, the account and its token, the quota, the container, a call
//! that failed — [`next`] says what happens next. The application gathers the facts (the store,
//! the vault, Meta) and carries out the step; it decides nothing itself.
//!
//! A story is never published twice: once a container may have been published (an earlier try
//! made one), only its status decides, and a passing failure never hands the story to the team.

use crate::queue::is_last_attempt;
use crate::reference::Reference;

/// What is known of one story being published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Situation {
    /// The workspace's Instagram API toggle.
    pub api_on: bool,
    /// Dry run: everything but the publishing call.
    pub dry_run: bool,
    /// The media was marked to always go by hand.
    pub needs_interaction: bool,
    /// An earlier try made a container (the queue item keeps it): its status decides.
    pub earlier: bool,
    pub account: AccountState,
    pub quota: Quota,
    pub container: Container,
    /// The call that just failed, if one did.
    pub failure: Option<Failure>,
}

impl Situation {
    /// Nothing looked up yet.
    #[must_use]
    pub fn new(api_on: bool, dry_run: bool, needs_interaction: bool, earlier: bool) -> Self {
        Self {
            api_on,
            dry_run,
            needs_interaction,
            earlier,
            account: AccountState::NotLookedUp,
            quota: Quota::NotAsked,
            container: if earlier { Container::Made } else { Container::None },
            failure: None,
        }
    }
}

/// The account that publishes: the active one for a new story, the one that made the
/// container for an earlier one (only its token can ask about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    NotLookedUp,
    /// No account is selected.
    NoneSelected,
    /// The account that made the container is gone.
    Gone,
    NoToken {
        account: String,
    },
    /// The token does not open with this server's key.
    TokenLocked {
        account: String,
    },
    TokenExpired {
        account: String,
    },
    /// A live token. `chosen`: the account is enabled and still the active one.
    Ready {
        account: String,
        chosen: bool,
    },
}

/// Meta's publishing quota for the account (asked before a new container only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    NotAsked,
    Left,
    UsedUp { used: u32, total: u32 },
}

/// The story's container at Meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Container {
    None,
    /// Made (now or by an earlier try); its status not asked yet.
    Made,
    InProgress,
    Finished,
    Published,
    /// Meta could not process the media (its words logged under the reference).
    Failed(Reference),
    Expired,
}

/// A call to Meta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Quota,
    Container,
    Status,
    Publish,
}

/// How a call to Meta failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// No answer, or a passing error: the call may have gone through.
    NoAnswer,
    TokenRefused,
    RateLimited,
    /// A definite refusal.
    Refused,
}

/// Something failed; the details are in the log under the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Store(Reference),
    /// No media URL could be made for Meta.
    MediaUrl(Reference),
    Call {
        call: Call,
        answer: Answer,
        reference: Reference,
    },
}

/// What happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not the API's story: it goes to the chat for manual posting, nothing to warn about.
    ByHand,
    FindAccount,
    AskQuota,
    MakeContainer,
    AskStatus,
    Publish,
    /// It is on Instagram: record it.
    Record,
    /// Dry run: everything but publishing worked; it goes to the chat for manual posting too.
    DryRunDone,
    /// The API cannot be used for it: it goes to the chat for manual posting, and the chat is
    /// told why (once per reason).
    Fallback(Reason),
    /// A passing problem: the story is left for the next tick (see [`after_retry`]).
    Retry(Reason),
}

/// What a passing problem means on a given try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterRetry {
    /// Try again next tick.
    Retry(Reason),
    /// The last try failed while Instagram may show the story: it is failed, never handed to
    /// the team as a copy.
    GiveUp(Reason),
    /// The last try, and nothing was made at Meta: the team posts it by hand (told why).
    ByHand(Reason),
}

/// Why a story did not go through the API now. [`Reason::code`] is what a history row keeps;
/// the words are the application's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NoAccount,
    AccountGone,
    NoToken {
        account: String,
    },
    TokenLocked {
        account: String,
    },
    TokenExpired {
        account: String,
    },
    TokenRefused {
        account: String,
        reference: Reference,
    },
    RateLimited(Reference),
    QuotaUsedUp {
        used: u32,
        total: u32,
    },
    StoryRefused(Reference),
    MediaUrl(Reference),
    MediaNotProcessed(Reference),
    StillProcessing,
    /// A new container expired before it was ready.
    ContainerExpired,
    /// A kept container expired before it was published.
    ExpiredUnpublished,
    DryRunTurnedOn,
    ApiTurnedOff,
    MarkedByHand,
    AccountSwitched,
    /// A new container reported itself published without being asked (in dry run).
    PublishedUnasked,
    /// Meta did not answer; it may have gone through.
    NoAnswer(Reference),
    StoreFailed(Reference),
    /// The story's file could not be read (the manual path).
    MediaUnreadable(Reference),
    /// The chat did not take the story (the manual path).
    ChatUnreachable(Reference),
    /// Something went wrong in dry run.
    DryRun(Box<Reason>),
    /// Dry run never holds up the manual path: the API check did not finish.
    DryRunUnfinished(Box<Reason>),
}

impl Reason {
    /// A stable code for history rows and logs.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoAccount => "no_account",
            Self::AccountGone => "account_gone",
            Self::NoToken { .. } => "no_token",
            Self::TokenLocked { .. } => "token_locked",
            Self::TokenExpired { .. } => "token_expired",
            Self::TokenRefused { .. } => "token_refused",
            Self::RateLimited(_) => "rate_limited",
            Self::QuotaUsedUp { .. } => "quota_used_up",
            Self::StoryRefused(_) => "story_refused",
            Self::MediaUrl(_) => "media_url",
            Self::MediaNotProcessed(_) => "media_not_processed",
            Self::StillProcessing => "still_processing",
            Self::ContainerExpired => "container_expired",
            Self::ExpiredUnpublished => "expired_unpublished",
            Self::DryRunTurnedOn => "dry_run_turned_on",
            Self::ApiTurnedOff => "api_turned_off",
            Self::MarkedByHand => "marked_by_hand",
            Self::AccountSwitched => "account_switched",
            Self::PublishedUnasked => "published_unasked",
            Self::NoAnswer(_) => "no_answer",
            Self::StoreFailed(_) => "store_failed",
            Self::MediaUnreadable(_) => "media_unreadable",
            Self::ChatUnreachable(_) => "chat_unreachable",
            Self::DryRun(_) => "dry_run",
            Self::DryRunUnfinished(_) => "dry_run_unfinished",
        }
    }

    /// The reference of the log line with the details, if there is one.
    #[must_use]
    pub fn reference(&self) -> Option<&Reference> {
        match self {
            Self::TokenRefused { reference, .. } => Some(reference),
            Self::RateLimited(r)
            | Self::StoryRefused(r)
            | Self::MediaUrl(r)
            | Self::MediaNotProcessed(r)
            | Self::NoAnswer(r)
            | Self::StoreFailed(r)
            | Self::MediaUnreadable(r)
            | Self::ChatUnreachable(r) => Some(r),
            Self::DryRun(inner) | Self::DryRunUnfinished(inner) => inner.reference(),
            _ => None,
        }
    }

    /// Two reasons are the same news for the chat when this key is equal (a new reference
    /// for the same cause is not news).
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::NoToken { account }
            | Self::TokenLocked { account }
            | Self::TokenExpired { account }
            | Self::TokenRefused { account, .. } => format!("{}:{account}", self.code()),
            Self::DryRun(inner) | Self::DryRunUnfinished(inner) => format!("{}:{}", self.code(), inner.key()),
            _ => self.code().to_owned(),
        }
    }
}

/// What happens next for the story in `situation`.
#[must_use]
pub fn next(situation: &Situation) -> Step {
    let s = situation;
    let step = decide(s);
    // Dry run never holds up the manual path: a new story's passing problem sends it by hand.
    match step {
        Step::Retry(reason) if s.dry_run && !s.earlier => Step::Fallback(Reason::DryRunUnfinished(Box::new(reason))),
        step => step,
    }
}

fn decide(s: &Situation) -> Step {
    if let Some(failure) = &s.failure {
        return failed(s, failure);
    }
    if !s.earlier && (!s.api_on || s.needs_interaction) {
        return Step::ByHand;
    }
    let chosen = match &s.account {
        AccountState::NotLookedUp => return Step::FindAccount,
        AccountState::NoneSelected => return Step::Fallback(Reason::NoAccount),
        AccountState::Gone => return Step::Retry(Reason::AccountGone),
        AccountState::NoToken { account } => return token_problem(s, Reason::NoToken { account: account.clone() }),
        AccountState::TokenLocked { account } => {
            return token_problem(s, Reason::TokenLocked { account: account.clone() });
        }
        AccountState::TokenExpired { account } => {
            return token_problem(s, Reason::TokenExpired { account: account.clone() });
        }
        AccountState::Ready { chosen, .. } => *chosen,
    };
    if !s.earlier {
        match s.quota {
            Quota::NotAsked => return Step::AskQuota,
            Quota::UsedUp { used, total } => return Step::Fallback(Reason::QuotaUsedUp { used, total }),
            Quota::Left => {}
        }
    }
    match &s.container {
        Container::None => Step::MakeContainer,
        Container::Made => Step::AskStatus,
        Container::InProgress => Step::Retry(Reason::StillProcessing),
        Container::Expired if s.earlier => Step::Fallback(Reason::ExpiredUnpublished),
        Container::Expired => Step::Retry(Reason::ContainerExpired),
        Container::Failed(reference) if s.dry_run && !s.earlier => {
            Step::Fallback(Reason::DryRun(Box::new(Reason::MediaNotProcessed(reference.clone()))))
        }
        // Nothing was published: the container is dropped and the team posts it.
        Container::Failed(reference) => Step::Fallback(Reason::MediaNotProcessed(reference.clone())),
        Container::Published if s.dry_run && !s.earlier => {
            Step::Fallback(Reason::DryRun(Box::new(Reason::PublishedUnasked)))
        }
        Container::Published => Step::Record,
        Container::Finished if !s.earlier => {
            if s.dry_run {
                Step::DryRunDone
            } else {
                Step::Publish
            }
        }
        // Ready but not published: publish it only if the team still wants this account to
        // publish it now; otherwise nothing is on Instagram and the team posts it.
        Container::Finished => Step::Fallback(if s.dry_run {
            Reason::DryRunTurnedOn
        } else if !s.api_on {
            Reason::ApiTurnedOff
        } else if s.needs_interaction {
            Reason::MarkedByHand
        } else if !chosen {
            Reason::AccountSwitched
        } else {
            return Step::Publish;
        }),
    }
}

/// A new story goes by hand when its account cannot publish; a kept container waits, since
/// only that account's token can ask about it.
fn token_problem(s: &Situation, reason: Reason) -> Step {
    if s.earlier { Step::Retry(reason) } else { Step::Fallback(reason) }
}

fn failed(s: &Situation, failure: &Failure) -> Step {
    let (call, answer, reference) = match failure {
        Failure::Store(reference) => return Step::Retry(Reason::StoreFailed(reference.clone())),
        Failure::MediaUrl(reference) => return Step::Fallback(Reason::MediaUrl(reference.clone())),
        Failure::Call { call, answer, reference } => (*call, *answer, reference.clone()),
    };
    let account = match &s.account {
        AccountState::Ready { account, .. } => account.clone(),
        _ => String::new(),
    };
    let reason = match answer {
        Answer::NoAnswer => return Step::Retry(Reason::NoAnswer(reference)),
        Answer::TokenRefused => Reason::TokenRefused { account, reference },
        Answer::RateLimited => Reason::RateLimited(reference),
        Answer::Refused => Reason::StoryRefused(reference),
    };
    // Asking about a kept container (one the queue item keeps) never sends the story by hand:
    // it may be published. Only a definite refusal of the publishing call itself may.
    let kept = s.earlier || !s.dry_run;
    if call == Call::Status && kept { Step::Retry(reason) } else { Step::Fallback(reason) }
}

/// After a passing problem ([`Step::Retry`]) on the story's try number `attempt`: try again
/// next tick, or on the last try give up (when Instagram may show the story) or hand it to the
/// team (when nothing was made at Meta).
#[must_use]
pub fn after_retry(reason: Reason, attempt: u32, container_may_exist: bool) -> AfterRetry {
    match (is_last_attempt(attempt), container_may_exist) {
        (false, _) => AfterRetry::Retry(reason),
        (true, true) => AfterRetry::GiveUp(reason),
        (true, false) => AfterRetry::ByHand(reason),
    }
}

#[cfg(test)]
mod tests;
