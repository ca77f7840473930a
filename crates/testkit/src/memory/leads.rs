//! In-memory adapters of the leads ports, for use-case tests without a database.
//!
//! [`MemoryLeadRepository`] keeps leads, every assignment (open and ended) and the PII
//! access log behind one lock, so each port call is atomic as the storage adapter's
//! transactions are; [`MemoryUserDirectory`] holds the users a distribution looks up.
//! A test can make the access log fail ([`MemoryLeadRepository::fail_reveal_log`]) to
//! show that nothing is revealed without its log rows.

use std::sync::Mutex;

use domain::error::RepoError;
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{
    AsStatus, AssignmentRecord, AssignmentSource, CurrentAssignment, Handover, Lead, LeadSearch, LeadStatus, ListScope,
    ListSortColumn, NewLead, OwnedQuery, PriorAssignment, TransferCandidate, TransferOutcome, TransferRefusal,
};
use domain::pagination::{Page, SortOrder};
use domain::ports::{LeadRepository, PiiAccess};
use time::OffsetDateTime;
use uuid::Uuid;

/// An assignment as storage keeps it: the record, and where a recall would take it from.
#[derive(Debug, Clone)]
struct Stored {
    lead_id: Uuid,
    record: AssignmentRecord,
    order_line_id: Option<Uuid>,
    restored_from_id: Option<Uuid>,
}

#[derive(Debug, Default)]
struct State {
    leads: Vec<Lead>,
    assignments: Vec<Stored>,
    log: Vec<PiiAccess>,
    fail_log: bool,
}

/// Leads, assignments and the access log in memory.
#[derive(Debug, Default)]
pub struct MemoryLeadRepository {
    state: Mutex<State>,
}

impl MemoryLeadRepository {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("lead state lock")
    }

    /// Every access row written so far, oldest first.
    pub fn access_log(&self) -> Vec<PiiAccess> {
        self.state().log.clone()
    }

    /// Makes every later [`LeadRepository::reveal_log`] fail (the log is unavailable).
    pub fn fail_reveal_log(&self, fail: bool) {
        self.state().fail_log = fail;
    }

    /// Sets a lead's AS statuses, newest first.
    pub fn set_as_statuses(&self, lead_id: Uuid, statuses: Vec<AsStatus>) {
        if let Some(lead) = self.state().leads.iter_mut().find(|l| l.id == lead_id) {
            lead.as_statuses = statuses;
        }
    }

    /// A lead as stored now.
    pub fn lead(&self, id: Uuid) -> Option<Lead> {
        self.state().leads.iter().find(|l| l.id == id).cloned()
    }

    /// Leads with other than exactly one open assignment.
    pub fn leads_without_exactly_one_open_assignment(&self) -> usize {
        let state = self.state();
        state
            .leads
            .iter()
            .filter(|l| {
                state.assignments.iter().filter(|a| a.lead_id == l.id && a.record.ended_at.is_none()).count() != 1
            })
            .count()
    }
}

fn matches_search(lead: &Lead, search: &LeadSearch) -> bool {
    match search {
        LeadSearch::Phone(p) => lead.pii.phone.e164() == p.e164(),
        LeadSearch::PhoneLast4(d) => lead.pii.phone.last4() == d,
        LeadSearch::Email(e) => lead.pii.email.as_ref().is_some_and(|m| m.as_str() == e.as_str()),
        LeadSearch::NameOrProduct { name, product_fragment } => {
            name.as_ref().is_some_and(|n| n.blind_index_form() == lead.pii.name.blind_index_form())
                || (!product_fragment.is_empty()
                    && lead.product_name.to_lowercase().contains(&product_fragment.to_lowercase()))
        }
    }
}

fn in_query(lead: &Lead, q: &OwnedQuery) -> bool {
    let Some(a) = &lead.assignment else { return false };
    let scoped = match q.scope {
        ListScope::Owned(owner) => a.owner_user_id == owner,
        ListScope::DistributedBy(leader) => a.distributor_user_id == Some(leader) && a.owner_user_id != leader,
    };
    let has_as = lead.latest_as().is_some_and(AsStatus::counts_as_has_as);
    scoped
        && q.used.is_none_or(|used| a.used_at.is_some() == used)
        && q.has_as.is_none_or(|wanted| has_as == wanted)
        && q.product_id.is_none_or(|p| lead.product_id == p)
        && q.provider_id.is_none_or(|p| lead.provider_org_id == p)
        && q.search.as_ref().is_none_or(|s| matches_search(lead, s))
}

/// The sort value of a lead; unused leads sort after used ones by `usedAt`.
fn sort_value(lead: &Lead, column: ListSortColumn) -> Option<OffsetDateTime> {
    let a = lead.assignment.as_ref();
    match column {
        ListSortColumn::AssignedAt => a.map(|a| a.assigned_at),
        ListSortColumn::UsedAt => a.and_then(|a| a.used_at),
        ListSortColumn::DistributedAt => lead.last_distributed_at,
    }
}

impl LeadRepository for MemoryLeadRepository {
    async fn register(&self, owner: &User, new: &NewLead, now: OffsetDateTime) -> Result<(Uuid, Uuid), RepoError> {
        let (id, assignment_id) = (new_id(), new_id());
        let mut state = self.state();
        state.leads.push(Lead {
            id,
            product_id: new.product_id,
            product_name: String::new(),
            provider_org_id: owner.org_id,
            region: new.region.clone(),
            gender: new.gender,
            metadata: new.metadata.clone(),
            status: LeadStatus::Assigned,
            pii: new.pii.clone(),
            assignment: Some(CurrentAssignment {
                id: assignment_id,
                owner_user_id: owner.id,
                source: AssignmentSource::Registered,
                distributor_user_id: None,
                assigned_at: now,
                used_at: None,
            }),
            last_distributed_at: None,
            as_statuses: Vec::new(),
            created_at: now,
        });
        state.assignments.push(Stored {
            lead_id: id,
            record: AssignmentRecord {
                id: assignment_id,
                owner_user_id: owner.id,
                source: AssignmentSource::Registered,
                distributor_user_id: None,
                assigned_at: now,
                used_at: None,
                ended_at: None,
                end_reason: None,
            },
            order_line_id: None,
            restored_from_id: None,
        });
        Ok((id, assignment_id))
    }

    async fn owned_page(&self, q: &OwnedQuery) -> Result<Page<Lead>, RepoError> {
        let state = self.state();
        let mut hits: Vec<&Lead> = state.leads.iter().filter(|l| in_query(l, q)).collect();
        hits.sort_by(|a, b| {
            let (va, vb) = (sort_value(a, q.sort_column), sort_value(b, q.sort_column));
            let ordering = match (va, vb) {
                (Some(x), Some(y)) => x.cmp(&y).then(a.id.cmp(&b.id)),
                (Some(_), None) => return std::cmp::Ordering::Less,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (None, None) => a.id.cmp(&b.id),
            };
            match q.sort_order {
                SortOrder::Asc => ordering,
                SortOrder::Desc => ordering.reverse(),
            }
        });
        let total = hits.len() as u64;
        let offset = usize::try_from(q.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.page.limit()).unwrap_or(usize::MAX);
        let items = hits.into_iter().skip(offset).take(limit).cloned().collect();
        Ok(Page { items, request: q.page, total })
    }

    async fn lead_with_history(&self, id: Uuid) -> Result<Option<(Lead, Vec<AssignmentRecord>)>, RepoError> {
        let state = self.state();
        let Some(lead) = state.leads.iter().find(|l| l.id == id).cloned() else { return Ok(None) };
        let mut history: Vec<AssignmentRecord> =
            state.assignments.iter().filter(|a| a.lead_id == id).map(|a| a.record.clone()).collect();
        history.sort_by_key(|a| (a.assigned_at, a.id));
        Ok(Some((lead, history)))
    }

    async fn mark_used(&self, lead_id: Uuid, owner: &User, access: PiiAccess) -> Result<Option<Lead>, RepoError> {
        let mut state = self.state();
        if state.fail_log {
            return Err(RepoError::Unavailable("the access log is down".to_owned()));
        }
        let Some(lead) = state.leads.iter_mut().find(|l| l.id == lead_id) else { return Ok(None) };
        let Some(open) = lead.assignment.as_mut().filter(|a| a.owner_user_id == owner.id) else { return Ok(None) };
        let at = *open.used_at.get_or_insert(access.at);
        let (open_id, lead) = (open.id, lead.clone());
        if let Some(stored) = state.assignments.iter_mut().find(|a| a.record.id == open_id) {
            stored.record.used_at.get_or_insert(at);
        }
        state.log.push(access);
        Ok(Some(lead))
    }

    async fn owned_among(&self, owner: Uuid, ids: &[Uuid]) -> Result<Vec<Lead>, RepoError> {
        let state = self.state();
        Ok(state
            .leads
            .iter()
            .filter(|l| ids.contains(&l.id) && l.assignment.as_ref().is_some_and(|a| a.owner_user_id == owner))
            .cloned()
            .collect())
    }

    async fn reveal_log(&self, leads: &[Uuid], template: &PiiAccess) -> Result<(), RepoError> {
        let mut state = self.state();
        if state.fail_log {
            return Err(RepoError::Unavailable("the access log is down".to_owned()));
        }
        state.log.extend(leads.iter().map(|id| PiiAccess { subject_id: *id, ..template.clone() }));
        Ok(())
    }

    async fn transfer<D>(&self, ids: &[Uuid], decide: D) -> Result<TransferOutcome, RepoError>
    where
        D: FnOnce(&[TransferCandidate]) -> Result<Vec<Handover>, (Uuid, TransferRefusal)> + Send,
    {
        let mut state = self.state();
        let candidates: Vec<TransferCandidate> = state
            .leads
            .iter()
            .filter(|l| ids.contains(&l.id))
            .map(|lead| {
                let open =
                    lead.assignment.as_ref().and_then(|a| state.assignments.iter().find(|s| s.record.id == a.id));
                let prior = open
                    .and_then(|o| o.restored_from_id)
                    .and_then(|from| state.assignments.iter().find(|s| s.record.id == from));
                TransferCandidate {
                    lead: lead.clone(),
                    handed_over_from: prior.map(|p| PriorAssignment {
                        id: p.record.id,
                        used_at: p.record.used_at,
                        distributor_user_id: p.record.distributor_user_id,
                        order_line_id: p.order_line_id,
                        restored_from_id: p.restored_from_id,
                    }),
                }
            })
            .collect();
        let mut handovers = match decide(&candidates) {
            Ok(handovers) => handovers,
            Err(refused) => return Ok(Err(refused)),
        };
        handovers.sort_by_key(|h| h.lead_id);
        let still_open = handovers.iter().all(|h| {
            state.leads.iter().any(|l| l.id == h.lead_id && l.assignment.as_ref().is_some_and(|a| a.id == h.ends))
        });
        if !still_open {
            return Err(RepoError::Conflict("a lead of the list changed meanwhile".to_owned()));
        }
        let mut moved = Vec::with_capacity(handovers.len());
        for h in handovers {
            let next_id = new_id();
            let next = h.next;
            if let Some(ended) = state.assignments.iter_mut().find(|s| s.record.id == h.ends) {
                ended.record.ended_at = Some(next.assigned_at);
                ended.record.end_reason = Some(next.source.as_str().to_owned());
            }
            state.assignments.push(Stored {
                lead_id: h.lead_id,
                record: AssignmentRecord {
                    id: next_id,
                    owner_user_id: next.owner_user_id,
                    source: next.source,
                    distributor_user_id: next.distributor_user_id,
                    assigned_at: next.assigned_at,
                    used_at: next.used_at,
                    ended_at: None,
                    end_reason: None,
                },
                order_line_id: next.order_line_id,
                restored_from_id: next.restored_from_id,
            });
            if let Some(lead) = state.leads.iter_mut().find(|l| l.id == h.lead_id) {
                lead.assignment = Some(CurrentAssignment {
                    id: next_id,
                    owner_user_id: next.owner_user_id,
                    source: next.source,
                    distributor_user_id: next.distributor_user_id,
                    assigned_at: next.assigned_at,
                    used_at: next.used_at,
                });
                if next.source == AssignmentSource::Distributed {
                    lead.last_distributed_at = Some(next.assigned_at);
                }
            }
            moved.push((h.lead_id, next_id));
        }
        Ok(Ok(moved))
    }
}
