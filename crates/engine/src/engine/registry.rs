//! Merchants, operators and customers: registration, API keys,
//! payment-method changes.

use super::Engine;
use crate::checked::id32;
use crate::command::{CustomerProfile, Principal, Role, SealedPii, SealedProfile};
use crate::error::CommandError;
use crate::identity::IdentityKeys;
use crate::pii::{PersonalData, PiiEntry};
use crate::prefix;
use crate::state::{Customer, CustomerStatus, Merchant, Operator};
use crate::view::{KeyGrant, Outcome};
use atobarai_core::{At, PaymentMethod, Yen, ids};

impl Engine {
    pub(crate) fn add_merchant(
        &mut self,
        at: At,
        name: &str,
        key_id: &str,
        secret_sha256: [u8; 32],
    ) -> Result<Outcome, CommandError> {
        self.check_key_id_free(key_id)?;
        let idx = id32(self.state.merchants.len());
        self.state.merchants.push(Merchant {
            name: name.to_string(),
            key_id: key_id.to_string(),
            secret_sha256,
            created_at: at,
        });
        self.idx.merchant_by_key.insert(key_id.to_string(), idx);
        Ok(Outcome::Merchant(KeyGrant {
            index: idx,
            name: name.to_string(),
        }))
    }

    pub(crate) fn add_operator(
        &mut self,
        at: At,
        name: &str,
        role: Role,
        key_id: &str,
        secret_sha256: [u8; 32],
    ) -> Result<Outcome, CommandError> {
        self.check_key_id_free(key_id)?;
        let idx = id32(self.state.operators.len());
        self.state.operators.push(Operator {
            name: name.to_string(),
            role,
            key_id: key_id.to_string(),
            secret_sha256,
            created_at: at,
        });
        self.idx.operator_by_key.insert(key_id.to_string(), idx);
        Ok(Outcome::Operator(KeyGrant {
            index: idx,
            name: name.to_string(),
        }))
    }

    pub(crate) fn check_key_id_free(&self, key_id: &str) -> Result<(), CommandError> {
        if self.idx.merchant_by_key.contains_key(key_id)
            || self.idx.operator_by_key.contains_key(key_id)
        {
            return Err(CommandError::conflict(
                "key_id_taken",
                "key id already in use",
            ));
        }
        Ok(())
    }

    pub(crate) fn register_customer(
        &mut self,
        at: At,
        merchant: u32,
        profile: &CustomerProfile,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        self.check_consent(at, profile.birth_date, None)?;
        let outcome = self.register(at, merchant, profile, None, payment_method, identity)?;
        self.hold_new_if_past_trouble(at, identity);
        Ok(outcome)
    }

    /// The re-registration screen for the account just registered (the
    /// plain registration commands; `SignUp` runs it with its device).
    fn hold_new_if_past_trouble(&mut self, at: At, identity: &IdentityKeys) {
        if let Some(last) = self.state.customers.len().checked_sub(1) {
            let ci = crate::checked::id32(last);
            self.hold_if_past_trouble(at, ci, identity, &Default::default());
        }
    }

    /// A sealed or clear registration whose sign-up already checked the
    /// lifecycle rules (consent).
    pub(crate) fn register_signed_up(
        &mut self,
        at: At,
        merchant: u32,
        registration: &crate::command::Registration,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        match registration {
            crate::command::Registration::Clear(p) => {
                self.register(at, merchant, p, None, payment_method, identity)
            }
            crate::command::Registration::Sealed(p) => {
                self.register_sealed(at, merchant, p, payment_method, identity)
            }
        }
    }

    /// A registration whose personal data the shell sealed: the profile in
    /// state holds only the external id and the birth date, the sealed
    /// fields go to the personal-data book.
    pub(crate) fn register_sealed_customer(
        &mut self,
        at: At,
        merchant: u32,
        profile: &SealedProfile,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        self.check_consent(at, profile.born_by, None)?;
        let outcome = self.register_sealed(at, merchant, profile, payment_method, identity)?;
        self.hold_new_if_past_trouble(at, identity);
        Ok(outcome)
    }

    fn register_sealed(
        &mut self,
        at: At,
        merchant: u32,
        profile: &SealedProfile,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        let clear = CustomerProfile {
            external_id: profile.external_id.clone(),
            name: String::new(),
            name_kana: String::new(),
            birth_date: profile.born_by,
            phone: String::new(),
            email: String::new(),
            postal_code: String::new(),
            address: String::new(),
        };
        self.register(
            at,
            merchant,
            &clear,
            Some(&profile.pii),
            payment_method,
            identity,
        )
    }

    fn register(
        &mut self,
        at: At,
        merchant: u32,
        profile: &CustomerProfile,
        sealed: Option<&SealedPii>,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let key = (merchant, Box::<str>::from(profile.external_id.as_str()));
        if self.idx.customer_by_external.contains_key(&key) {
            return Err(CommandError::conflict(
                "external_id_taken",
                "a customer with this external_id is already registered",
            )
            .field("external_id"));
        }
        let today = at.jst_date();
        if profile.birth_date > today {
            return Err(CommandError::invalid(
                "birth_date_in_future",
                "birth_date",
                "birth_date is after today",
            ));
        }
        let age_min = self.config.credit.age_years_min;
        if profile.birth_date.age_on(today) < age_min {
            return Err(CommandError::invalid(
                "age_below_minimum",
                "birth_date",
                format!("customers must be at least {age_min} years old"),
            ));
        }
        let idx = id32(self.state.customers.len());
        // Customer `i` is identity account `i`; only a bug could break that,
        // and then nothing is registered.
        if self.state.identity.accounts() != idx as usize {
            return Err(CommandError::conflict(
                "identity_graph_out_of_step",
                "the identity graph does not match the customers",
            ));
        }
        // Validation is over: from here on we only mutate (the graph refuses
        // a new account only when it holds u32::MAX − 1 of them).
        self.state
            .identity
            .register(idx, at, identity)
            .map_err(|e| CommandError::conflict("identity_graph_full", e.to_string()))?;
        self.state.customers.push(Customer {
            merchant,
            profile: Box::new(profile.clone()),
            payment_method,
            pending_method: None,
            status: CustomerStatus::Active,
            limit: self.limit_for(payment_method),
            held: Yen::ZERO,
            outstanding: Yen::ZERO,
            credit: Yen::ZERO,
            per_order_exposure: Yen::ZERO,
            in_store_exposure: Yen::ZERO,
            paid_online_orders: 0,
            orders_approved: 0,
            open_orders: Vec::new(),
            created_at: at,
            billing: None,
        });
        self.idx.customer_by_external.insert(key, idx);
        if let Some(sealed) = sealed {
            self.state
                .pii
                .entries
                .insert(idx, PiiEntry::Sealed(sealed.clone()));
        }
        self.score_linked(at, idx);
        Ok(Outcome::Customer(self.customer_view_at(idx, at)))
    }

    /// Erase a customer's personal data (providers only: operators and the
    /// command line). The shell has already shredded the data key of a
    /// sealed profile; here the ciphertext and any clear fields leave the
    /// state. Nothing that counts money changes. Erasing an erased
    /// customer changes nothing.
    pub(crate) fn erase_customer_pii(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
    ) -> Result<(Outcome, bool), CommandError> {
        let ci = self.customer_index_for_provider(
            principal,
            customer,
            "only an operator may erase a customer's personal data",
        )?;
        if let Some(PiiEntry::Erased { .. }) = self.state.pii.entries.get(&ci) {
            return Ok((Outcome::Customer(self.customer_view_at(ci, at)), false));
        }
        let c = &mut self.state.customers[ci as usize];
        let external_id = std::mem::take(&mut c.profile.external_id);
        *c.profile = CustomerProfile {
            external_id,
            name: String::new(),
            name_kana: String::new(),
            birth_date: crate::pii::erased_birth_date(),
            phone: String::new(),
            email: String::new(),
            postal_code: String::new(),
            address: String::new(),
        };
        self.state.pii.entries.insert(ci, PiiEntry::Erased { at });
        Ok((Outcome::Customer(self.customer_view_at(ci, at)), true))
    }

    /// A customer's personal data as the state holds it: clear (registered
    /// before sealing), sealed (for the shell to open) or erased. Operators
    /// only; `id` is the public id (`cus_…`).
    pub fn personal_data(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<PersonalData, CommandError> {
        if !matches!(
            principal,
            Principal::Operator(_, Role::Admin | Role::Analyst) | Principal::System
        ) {
            return Err(CommandError::forbidden("personal data is for operators"));
        }
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        let profile = &self.state.customers[ci as usize].profile;
        Ok(match self.state.pii.entries.get(&ci) {
            None => PersonalData::Clear((**profile).clone()),
            Some(PiiEntry::Sealed(pii)) => PersonalData::Sealed {
                external_id: profile.external_id.clone(),
                born_by: profile.birth_date,
                pii: pii.clone(),
            },
            Some(PiiEntry::Erased { at }) => PersonalData::Erased {
                external_id: profile.external_id.clone(),
                at: *at,
            },
        })
    }

    pub(crate) fn limit_for(&self, method: PaymentMethod) -> Yen {
        match method {
            PaymentMethod::BankDebit => self.config.credit.bank_debit_limit_yen,
            PaymentMethod::ConvenienceStore | PaymentMethod::PaperBill => {
                self.config.credit.signup_limit_yen
            }
        }
    }

    pub(crate) fn set_payment_method(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        method: PaymentMethod,
    ) -> Result<Outcome, CommandError> {
        let ci = self.customer_index_for_write(principal, customer)?;
        let limit = self.limit_for(method);
        let from = at
            .jst_date()
            .first_of_next_month()
            .map_err(|_| CommandError::invalid("date_out_of_range", "now", "date out of range"))?;
        let c = &mut self.state.customers[ci as usize];
        c.pending_method = if method == c.payment_method {
            None
        } else {
            Some((method, from))
        };
        // The limit follows the registration at once (bank debit raises
        // it), at the account's behaviour-score step.
        let limit = self.stepped_limit_of(ci, limit);
        let c = &mut self.state.customers[ci as usize];
        c.limit = limit;
        Ok(Outcome::Customer(self.customer_view_at(ci, at)))
    }

    /// The principal owning API key id `key_id`, with the SHA-256 of its
    /// secret for the caller to compare in constant time.
    pub fn key(&self, key_id: &str) -> Option<(Principal, [u8; 32])> {
        if let Some(&m) = self.idx.merchant_by_key.get(key_id) {
            return Some((
                Principal::Merchant(m),
                self.state.merchants[m as usize].secret_sha256,
            ));
        }
        let &o = self.idx.operator_by_key.get(key_id)?;
        let op = &self.state.operators[o as usize];
        Some((Principal::Operator(o, op.role), op.secret_sha256))
    }

    /// Every key id with its principal and secret hash (to warm a cache).
    pub fn keys(&self) -> Vec<(String, Principal, [u8; 32])> {
        let merchants = self.state.merchants.iter().enumerate().map(|(i, m)| {
            (
                m.key_id.clone(),
                Principal::Merchant(id32(i)),
                m.secret_sha256,
            )
        });
        let operators = self.state.operators.iter().enumerate().map(|(i, o)| {
            (
                o.key_id.clone(),
                Principal::Operator(id32(i), o.role),
                o.secret_sha256,
            )
        });
        merchants.chain(operators).collect()
    }

    /// Resolve a public merchant id (`mer_…`).
    pub fn merchant_by_public_id(&self, id: &str) -> Option<u32> {
        let idx = u32::try_from(ids::decode(prefix::MERCHANT, id)?).ok()?;
        ((idx as usize) < self.state.merchants.len()).then_some(idx)
    }
}
