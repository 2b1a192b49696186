//! The population: persons with their persona, identity (name, address,
//! phones, e-mails, devices, networks), accounts at the market's shops,
//! payment habit and shopping rhythm. Built once from the seed, before the
//! market opens.

use crate::addresses::{self, Address, Name, Style};
use crate::driver::{CustomerRef, Registration};
use crate::personas::{Persona, Personas};
use atobarai_core::{PaymentMethod, Product};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The market's shops (merchants), in the order they are created.
pub const SHOPS: &[&str] = &[
    "sim: general mall",
    "sim: electronics store",
    "sim: gift and ticket shop",
    "sim: fashion store",
];

/// When a person pays its bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Habit {
    /// Well before the due date.
    Early,
    /// On or just before the due date.
    OnTime,
    /// Days to weeks after the due date.
    Late,
    /// Never (a default).
    Never,
}

/// How a multi-account cash-outer's accounts hang together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// Spelling variants and one device in common.
    Device,
    /// One phone number (written differently) in common.
    Phone,
    /// Only the address and the name (in variants); nothing strong.
    AddressName,
}

/// One account of a person at a shop.
#[derive(Clone, Debug)]
pub struct Account {
    /// The registration the shop sends.
    pub registration: Registration,
    /// Set once registered.
    pub customer: Option<CustomerRef>,
    /// The address as this account writes it on orders.
    pub shipping_style: Style,
    /// The address written in that style.
    pub shipping: String,
    /// The product the person prefers on this account.
    pub product: Product,
}

/// A person in the market.
#[derive(Clone, Debug)]
pub struct Person {
    /// Dense id (the label's person number).
    pub id: u32,
    /// The persona (the label).
    pub persona: Persona,
    /// The person's own random stream.
    pub rng: ChaCha8Rng,
    /// The person's address (shared within a household or dormitory).
    pub address: Address,
    /// The person's accounts (several for multi-account personas).
    pub accounts: Vec<Account>,
    /// The person's devices.
    pub devices: Vec<String>,
    /// The person's home network.
    pub home_net: u64,
    /// Payment habit.
    pub habit: Habit,
    /// Mean days between orders.
    pub mean_gap_days: f64,
    /// 0 (cheapest) … 1 (dearest) within each item's price range.
    pub price_level: f64,
    /// The day (from the market's start) the person registers.
    pub join_day: u32,
    /// How a multi-account person's accounts hang together.
    pub link_mode: Option<LinkMode>,
    /// For an account-takeover victim: the crew that hits it (a crew works
    /// `market.takeover_crew_accounts` accounts from one device).
    pub crew: u32,
    /// Pays in store with a code now and then.
    pub uses_in_store: bool,
    /// Behaviour state.
    pub state: PersonState,
}

/// What a person's behaviour remembers between orders.
#[derive(Clone, Debug, Default)]
pub struct PersonState {
    /// Orders asked for so far.
    pub orders: u32,
    /// Target orders declined or held so far.
    pub catches: u32,
    /// The person has stopped shopping.
    pub stopped: bool,
    /// Days left in a run of same-amount orders (naive cash-out).
    pub run_left: u32,
    /// The amount of the current run, in yen.
    pub run_amount: i64,
    /// The gift-card brand of the current run or cycle.
    pub brand: usize,
    /// Cycles done (evasive cash-out, resale).
    pub cycles: u32,
    /// The account used last (multi-account rotation).
    pub next_account: usize,
    /// Declines in a row (an honest shopper gives up after a few).
    pub declines_in_a_row: u32,
}

fn habit_of<R: Rng>(rng: &mut R, persona: Persona) -> Habit {
    let r: f64 = rng.random();
    let (early, on_time, late) = match persona {
        Persona::CashoutEvasive => (1.0, 0.0, 0.0),
        Persona::CashoutNaive => (0.0, 0.4, 0.2),
        Persona::CashoutMultiAccount => (0.1, 0.4, 0.0),
        Persona::Resale | Persona::PrepaidLayering => (0.0, 0.6, 0.0),
        Persona::ScamVictim => (0.2, 0.7, 0.1),
        _ => (0.30, 0.55, 0.12),
    };
    if r < early {
        Habit::Early
    } else if r < early + on_time {
        Habit::OnTime
    } else if r < early + on_time + late {
        Habit::Late
    } else {
        Habit::Never
    }
}

fn payment_method<R: Rng>(rng: &mut R) -> PaymentMethod {
    match rng.random_range(0..100) {
        0..45 => PaymentMethod::ConvenienceStore,
        45..80 => PaymentMethod::BankDebit,
        _ => PaymentMethod::PaperBill,
    }
}

fn birth_date<R: Rng>(rng: &mut R) -> String {
    format!(
        "{}-{:02}-{:02}",
        rng.random_range(1960..=2004),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    )
}

/// Counters that make identities unique (see `addresses`).
#[derive(Default)]
struct Counters {
    phone: u64,
    email: u64,
    device: u64,
    net: u64,
    account: u64,
}

impl Counters {
    fn next(c: &mut u64) -> u64 {
        let n = *c;
        *c = c.saturating_add(1);
        n
    }
}

/// A household or dormitory being filled.
struct Group {
    left: u32,
    address: Address,
    surname: usize,
    net: u64,
}

/// Build the population of `n` persons from `seed`.
pub fn build(seed: u64, n: u32, days: u32, personas: &Personas) -> Vec<Person> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut kinds: Vec<Persona> = personas
        .allocate(n)
        .into_iter()
        .flat_map(|(p, c)| std::iter::repeat_n(p, c as usize))
        .collect();
    kinds.shuffle(&mut rng);
    let wave_day = takeover_wave_day(days, personas);
    let mut counters = Counters::default();
    let mut household: Option<Group> = None;
    let mut dorm: Option<Group> = None;
    let mut people = Vec::with_capacity(kinds.len());
    let mut victims = 0u32;
    for (i, persona) in kinds.into_iter().enumerate() {
        let id = u32::try_from(i).unwrap_or(u32::MAX);
        let mut prng = ChaCha8Rng::seed_from_u64(seed);
        prng.set_stream(u64::from(id).wrapping_add(1));
        let mut p = person(
            id,
            persona,
            prng,
            days,
            wave_day,
            personas,
            &mut counters,
            &mut household,
            &mut dorm,
        );
        if persona == Persona::AccountTakeover {
            p.crew = victims / personas.market.takeover_crew_accounts.max(1);
            victims += 1;
        }
        people.push(p);
    }
    people
}

/// The day the account-takeover wave hits.
pub fn takeover_wave_day(days: u32, personas: &Personas) -> u32 {
    let d = f64::from(days) * personas.market.takeover_wave_at;
    // In [0, days]: the fraction is checked to be in [0, 1].
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let day = d.floor() as u32;
    day.min(days.saturating_sub(1))
}

fn join_group<R: Rng>(
    rng: &mut R,
    slot: &mut Option<Group>,
    sizes: std::ops::RangeInclusive<u32>,
    with_building: bool,
    counters: &mut Counters,
) -> (Address, usize, u64) {
    if slot.as_ref().is_none_or(|g| g.left == 0) {
        *slot = Some(Group {
            left: rng.random_range(sizes),
            address: Address::random(rng, with_building),
            surname: rng.random_range(0..20),
            net: Counters::next(&mut counters.net),
        });
    }
    match slot {
        Some(g) => {
            g.left = g.left.saturating_sub(1);
            (g.address.clone(), g.surname, g.net)
        }
        None => (Address::random(rng, with_building), 0, 0),
    }
}

#[allow(clippy::too_many_arguments)]
fn person(
    id: u32,
    persona: Persona,
    mut rng: ChaCha8Rng,
    days: u32,
    wave_day: u32,
    personas: &Personas,
    counters: &mut Counters,
    household: &mut Option<Group>,
    dorm: &mut Option<Group>,
) -> Person {
    let (address, surname, mut home_net, own_net_share) = match persona {
        Persona::Household => {
            let building = rng.random_bool(0.5);
            let (a, s, net) = join_group(&mut rng, household, 2..=5, building, counters);
            (a, Some(s), net, 0.15)
        }
        Persona::Dormitory => {
            let (a, s, net) = join_group(&mut rng, dorm, 6..=12, true, counters);
            let _ = s;
            (a, None, net, 0.3)
        }
        _ => {
            let with_building = rng.random_bool(0.4);
            (Address::random(&mut rng, with_building), None, 0, 1.0)
        }
    };
    if rng.random_bool(own_net_share) {
        home_net = Counters::next(&mut counters.net);
    }
    let name = Name::random(&mut rng, surname);
    let habit = habit_of(&mut rng, persona);
    let span = (days / 2).max(1);
    let join_day = match persona {
        Persona::AccountTakeover => rng.random_range(0..wave_day.max(1)),
        Persona::ScamVictim => {
            let latest = days
                .saturating_sub(personas.market.scam_after_days + 10)
                .max(1);
            rng.random_range(0..latest.min(span))
        }
        _ => rng.random_range(0..span),
    };
    let n_devices = if rng.random_bool(0.4) { 2 } else { 1 };
    let devices: Vec<String> = (0..n_devices)
        .map(|_| addresses::device(Counters::next(&mut counters.device)))
        .collect();
    let link_mode =
        (persona == Persona::CashoutMultiAccount).then(|| match rng.random_range(0..3) {
            0 => LinkMode::Device,
            1 => LinkMode::Phone,
            _ => LinkMode::AddressName,
        });
    let n_accounts = match persona {
        Persona::VariantSpelling => rng.random_range(2..=3),
        Persona::CashoutMultiAccount => rng.random_range(2..=4),
        _ => 1,
    };
    let phone = addresses::phone(Counters::next(&mut counters.phone));
    let email = addresses::email(Counters::next(&mut counters.email));
    let birth = birth_date(&mut rng);
    let preferred = if rng.random_bool(0.35) {
        Product::PerOrder
    } else {
        Product::Monthly
    };
    let first_shop = rng.random_range(0..SHOPS.len());
    let mut accounts = Vec::with_capacity(n_accounts);
    for a in 0..n_accounts {
        // Multi-account personas write themselves differently on each account.
        let variant = a > 0 || persona == Persona::VariantSpelling && rng.random_bool(0.5);
        let style = if variant {
            Style::ALL[rng.random_range(0..Style::ALL.len())]
        } else {
            Style::Hyphens
        };
        let (phone_a, email_a) = match (persona, link_mode) {
            (Persona::VariantSpelling, _) | (_, Some(LinkMode::Phone)) => (
                addresses::phone_variant(&phone, u8::try_from(a).unwrap_or(0)),
                if a == 0 {
                    email.clone()
                } else {
                    addresses::email(Counters::next(&mut counters.email))
                },
            ),
            _ if a == 0 => (phone.clone(), email.clone()),
            _ => (
                addresses::phone(Counters::next(&mut counters.phone)),
                addresses::email(Counters::next(&mut counters.email)),
            ),
        };
        let payment = if persona == Persona::Resale && rng.random_bool(0.5) {
            PaymentMethod::BankDebit
        } else {
            payment_method(&mut rng)
        };
        let account_no = Counters::next(&mut counters.account);
        accounts.push(Account {
            registration: Registration {
                shop: (first_shop + a) % SHOPS.len(),
                external_id: format!("c{account_no:07}"),
                name: name.write(variant && rng.random_bool(0.5)),
                name_kana: name.kana(),
                birth_date: birth.clone(),
                phone: phone_a,
                email: email_a,
                postal_code: if variant && rng.random_bool(0.3) {
                    addresses::full_width(&address.postal_code())
                } else {
                    address.postal_code()
                },
                address: address.write(style),
                payment_method: payment,
            },
            customer: None,
            shipping_style: style,
            shipping: address.write(style),
            product: preferred,
        });
    }
    let mut devices = devices;
    if let Some(LinkMode::Device) = link_mode {
        // One device in common, every account.
        devices.truncate(1);
    }
    if let Some(LinkMode::AddressName) = link_mode {
        // A device per account: nothing strong in common.
        while devices.len() < n_accounts {
            devices.push(addresses::device(Counters::next(&mut counters.device)));
        }
    }
    // Days between orders: log-uniform between 5 and 60 for shoppers.
    let mean_gap_days = (5.0f64.ln() + rng.random::<f64>() * (60.0f64.ln() - 5.0f64.ln())).exp();
    let uses_in_store = rng.random_bool(0.3);
    Person {
        id,
        persona,
        uses_in_store,
        price_level: rng.random(),
        rng,
        address,
        accounts,
        devices,
        home_net,
        habit,
        mean_gap_days,
        join_day,
        link_mode,
        crew: 0,
        state: PersonState::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_people() {
        let p = Personas::default();
        let a = build(7, 500, 90, &p);
        let b = build(7, 500, 90, &p);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.persona, y.persona);
            assert_eq!(x.accounts[0].registration, y.accounts[0].registration);
            assert_eq!(x.devices, y.devices);
        }
    }

    #[test]
    fn households_share_an_address_not_a_phone() {
        let p = Personas::from_toml("[shares]\nhonest = 0\nhousehold = 1\n").unwrap();
        let people = build(1, 40, 90, &p);
        let addr = |i: usize| people[i].address.clone();
        assert_eq!(addr(0), addr(1));
        assert_ne!(
            people[0].accounts[0].registration.phone,
            people[1].accounts[0].registration.phone
        );
    }
}
