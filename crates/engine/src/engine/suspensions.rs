//! Category suspensions (kill switches) per merchant and channel.

use super::Engine;
use crate::checked::id32;
use crate::command::SuspensionInput;
use crate::error::CommandError;
use crate::state::Suspension;
use crate::view::{Outcome, SuspensionView};
use atobarai_core::At;

impl Engine {
    pub(crate) fn add_suspension(
        &mut self,
        at: At,
        input: &SuspensionInput,
    ) -> Result<Outcome, CommandError> {
        if let Some(m) = input.merchant {
            self.merchant(m).map_err(|e| e.field("merchant"))?;
        }
        if input.until.is_some_and(|u| u <= input.from) {
            return Err(CommandError::invalid(
                "until_before_from",
                "until",
                "until must be after from",
            ));
        }
        let si = id32(self.state.suspensions.len());
        self.state.suspensions.push(Suspension {
            category: input.category,
            merchant: input.merchant,
            channel: input.channel,
            from: input.from,
            until: input.until,
            created_at: at,
            lifted_at: None,
        });
        Ok(Outcome::Suspension(self.suspension_view(si)))
    }

    pub(crate) fn lift_suspension(
        &mut self,
        at: At,
        suspension: u64,
    ) -> Result<Outcome, CommandError> {
        let si = usize::try_from(suspension)
            .ok()
            .filter(|&i| i < self.state.suspensions.len())
            .ok_or_else(|| CommandError::not_found("suspension_not_found", "id", "suspension"))?;
        let s = &mut self.state.suspensions[si];
        if s.lifted_at.is_some() {
            return Err(CommandError::conflict(
                "suspension_already_lifted",
                "this suspension was already lifted",
            ));
        }
        s.lifted_at = Some(at);
        Ok(Outcome::Suspension(self.suspension_view(id32(si))))
    }

    /// Every suspension, lifted or not, oldest first.
    pub fn suspensions(&self) -> Vec<SuspensionView> {
        (0..id32(self.state.suspensions.len()))
            .map(|i| self.suspension_view(i))
            .collect()
    }

    pub(crate) fn suspension_view(&self, si: u32) -> SuspensionView {
        let s = &self.state.suspensions[si as usize];
        SuspensionView {
            suspension: si,
            category: s.category,
            merchant: s.merchant,
            channel: s.channel,
            from: s.from,
            until: s.until,
            lifted_at: s.lifted_at,
        }
    }
}
