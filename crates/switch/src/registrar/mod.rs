//! REGISTER processing (RFC 3261 §10.3, RFC 5626 §6, RFC 3327): turns an
//! authenticated REGISTER into changes of the location table. Validation happens
//! completely before anything changes, so a rejected request changes nothing.

pub mod location;

use std::time::{Duration, Instant};

use sb_sip_message::{
    Aor, ByteStr, CallId, Contact, HeaderName, NameAddr, Peer, Request, RequestCore, StatusCode,
    Uri,
};

use crate::config::RegistrarPolicy;
use crate::effects::BindingId;
use location::{Binding, LocationTable};

/// Why a REGISTER is refused; each maps to one response (see [`RegisterError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Malformed or contradictory request (400).
    #[error("{0}")]
    BadRequest(String),
    /// A contact asked for less than the minimum (423 with Min-Expires).
    #[error("interval too brief, minimum {min_expires}s")]
    IntervalTooBrief {
        /// The minimum accepted.
        min_expires: u32,
    },
    /// Same Call-ID with a CSeq not above the stored one (RFC 3261 §10.3 step 7: 500).
    #[error("out-of-order REGISTER (CSeq {cseq} not above {stored})")]
    OutOfOrder {
        /// CSeq of the request.
        cseq: u32,
        /// CSeq stored with the binding.
        stored: u32,
    },
    /// The AOR would hold more bindings than allowed (403).
    #[error("too many contacts (at most {max})")]
    TooManyContacts {
        /// The limit.
        max: usize,
    },
}

impl RegisterError {
    /// The response status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            RegisterError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RegisterError::IntervalTooBrief { .. } => StatusCode::INTERVAL_TOO_BRIEF,
            RegisterError::OutOfOrder { .. } => StatusCode::SERVER_INTERNAL_ERROR,
            RegisterError::TooManyContacts { .. } => StatusCode::FORBIDDEN,
        }
    }
}

/// One change the registrar made.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingChange {
    /// A binding was added or refreshed.
    Upserted(Binding),
    /// A binding was removed by the request.
    Removed(Binding),
}

/// The parts of a REGISTER the registrar needs, already authenticated.
#[derive(Debug)]
pub struct RegisterInput<'a> {
    /// The address of record (from To).
    pub aor: &'a Aor,
    /// The request.
    pub request: &'a Request,
    /// What validation parsed of it (Call-ID, CSeq, Contacts).
    pub core: &'a RequestCore,
    /// Where it came from.
    pub peer: Peer,
    /// Monotonic now.
    pub now: Instant,
    /// Wall clock now, Unix ms.
    pub unix_ms: u64,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per contact of a request"
)]
enum Plan {
    Upsert(Binding),
    Remove(BindingId),
}

/// Applies a REGISTER to `table`. On success returns the changes made (in
/// contact order); on error nothing changed.
pub fn process(
    table: &mut LocationTable,
    policy: &RegistrarPolicy,
    input: &RegisterInput<'_>,
) -> Result<Vec<BindingChange>, RegisterError> {
    let headers = &input.request.headers;
    let call_id = &input.core.call_id;
    let cseq = input.core.cseq.seq;
    let expires_header = headers
        .expires()
        .map_err(|e| RegisterError::BadRequest(e.to_string()))?;
    let contacts = &input.core.contacts;
    if contacts.is_empty() {
        // A query: no change (RFC 3261 §10.3 step 6 does not apply).
        return Ok(Vec::new());
    }

    if contacts.iter().any(|c| matches!(c, Contact::Star)) {
        if contacts.len() != 1 {
            return Err(RegisterError::BadRequest(
                "Contact: * must be the only contact".into(),
            ));
        }
        if expires_header != Some(0) {
            return Err(RegisterError::BadRequest(
                "Contact: * requires Expires: 0".into(),
            ));
        }
        return remove_all(table, input.aor, call_id, cseq);
    }

    let user_agent = headers.get(&HeaderName::UserAgent).cloned();
    let path = join_path(input.request);
    let mut plan = Vec::with_capacity(contacts.len());
    for contact in contacts {
        let Contact::Addr(addr) = contact else {
            unreachable!("star handled above");
        };
        if !matches!(addr.uri, Uri::Sip(_)) {
            return Err(RegisterError::BadRequest(
                "contact URI must be sip: or sips:".into(),
            ));
        }
        let requested = addr
            .expires()
            .or(expires_header)
            .unwrap_or(policy.default_expires);
        if requested != 0 && requested < policy.min_expires {
            return Err(RegisterError::IntervalTooBrief {
                min_expires: policy.min_expires,
            });
        }
        let id = binding_id(table, input.aor, addr);
        if let Some(existing) = table.get(input.aor, &id)
            && existing.call_id == *call_id
            && cseq <= existing.cseq
        {
            return Err(RegisterError::OutOfOrder {
                cseq,
                stored: existing.cseq,
            });
        }
        if requested == 0 {
            plan.push(Plan::Remove(id));
            continue;
        }
        let granted = requested.min(policy.max_expires);
        let mut listed = addr.clone();
        listed.params.remove("expires");
        let instance = addr.sip_instance().map(ByteStr::from);
        plan.push(Plan::Upsert(Binding {
            id,
            contact: ByteStr::from(listed.to_string()),
            uri: addr.uri.clone(),
            instance,
            reg_id: addr.reg_id(),
            q: addr.q_millis(),
            call_id: call_id.clone(),
            cseq,
            expires_at: input.now + Duration::from_secs(u64::from(granted)),
            expires_unix_ms: input.unix_ms + u64::from(granted) * 1_000,
            peer: input.peer,
            user_agent: user_agent.clone(),
            path: path.clone(),
            updated_unix_ms: input.unix_ms,
            node: None,
        }));
    }

    let existing: Vec<BindingId> = table.bindings(input.aor).map(|b| b.id.clone()).collect();
    let mut after = existing.len();
    for p in &plan {
        match p {
            Plan::Upsert(b) if !existing.contains(&b.id) => after += 1,
            Plan::Remove(id) if existing.contains(id) => after -= 1,
            _ => {}
        }
    }
    if after > policy.max_contacts {
        return Err(RegisterError::TooManyContacts {
            max: policy.max_contacts,
        });
    }

    let mut changes = Vec::with_capacity(plan.len());
    for p in plan {
        match p {
            Plan::Upsert(b) => {
                table.upsert(input.aor, b.clone());
                changes.push(BindingChange::Upserted(b));
            }
            Plan::Remove(id) => {
                if let Some(b) = table.remove(input.aor, &id) {
                    changes.push(BindingChange::Removed(b));
                }
            }
        }
    }
    Ok(changes)
}

/// `Contact: *` with `Expires: 0` (RFC 3261 §10.3 step 6): every binding goes,
/// unless one with the same Call-ID has a CSeq not below the request's.
fn remove_all(
    table: &mut LocationTable,
    aor: &Aor,
    call_id: &CallId,
    cseq: u32,
) -> Result<Vec<BindingChange>, RegisterError> {
    if let Some(stale) = table
        .bindings(aor)
        .find(|b| &b.call_id == call_id && cseq <= b.cseq)
    {
        return Err(RegisterError::OutOfOrder {
            cseq,
            stored: stale.cseq,
        });
    }
    let ids: Vec<BindingId> = table.bindings(aor).map(|b| b.id.clone()).collect();
    Ok(ids
        .into_iter()
        .filter_map(|id| table.remove(aor, &id))
        .map(BindingChange::Removed)
        .collect())
}

/// The identity of a contact within its AOR: RFC 5626 instance (+ reg-id) when
/// present, otherwise the URI — reusing the id of an existing binding whose URI
/// is equivalent (RFC 3261 §19.1.4), so a refresh with a differently spelled
/// but equal URI replaces rather than duplicates.
fn binding_id(table: &LocationTable, aor: &Aor, addr: &NameAddr) -> BindingId {
    if let Some(instance) = addr.sip_instance() {
        let mut id = String::with_capacity(instance.len() + 16);
        id.push_str("inst:");
        id.push_str(&instance);
        if let Some(reg_id) = addr.reg_id() {
            id.push(':');
            id.push_str(&reg_id.to_string());
        }
        return BindingId(ByteStr::from(id));
    }
    if let Some(existing) = table
        .bindings(aor)
        .find(|b| b.instance.is_none() && b.uri.equivalent(&addr.uri))
    {
        return existing.id.clone();
    }
    let uri = addr.uri.to_string();
    let mut id = String::with_capacity(uri.len() + 4);
    id.push_str("uri:");
    id.push_str(&uri);
    BindingId(ByteStr::from(id))
}

fn join_path(request: &Request) -> Option<ByteStr> {
    let mut values = request.headers.get_all(&HeaderName::Path).peekable();
    values.peek()?;
    let joined: Vec<&str> = values.map(|v| v.as_str()).collect();
    Some(ByteStr::from(joined.join(", ")))
}

#[cfg(test)]
mod tests;
