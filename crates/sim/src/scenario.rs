//! The scenario: a time-ordered stream of market events (register, authorize
//! with a cart, capture, pay, an analyst's verdict, the clock moving),
//! generated from the seed and from what the engine answered. Each event's
//! label (persona, person, whether screening should stop it) stays here and
//! in the report; the driver gets the request alone.
//!
//! Time moves in hour slots: every event of an hour is stamped with the
//! hour's start, and the clock is moved once per hour that has events, so
//! the in-process and HTTP drivers apply the same commands at the same
//! instants. Ties are broken by the order the events were scheduled in
//! (a sequence number), never by a hash map.

use crate::addresses::{self, Style};
use crate::catalog::{self, Item};
use crate::driver::{CustomerRef, Decision, Driver, DriverError, OrderRef, OrderRequest};
use crate::personas::{AnalystVerdict, Persona, Personas};
use crate::population::{self, Habit, LinkMode, Person};
use crate::report::Collector;
use atobarai_core::{At, Channel, JstDate, Product, Yen};
use rand::Rng;
use rand::seq::SliceRandom;

const MS_PER_HOUR: i64 = 3_600_000;

/// What the simulator knows about an order and never sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// The persona of the person behind the order.
    pub persona: Persona,
    /// The person (dense id).
    pub person: u32,
    /// Whether screening should stop this order (a cash-out, resale or
    /// layering purchase, an account-takeover or a scam-induced order).
    pub target: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskKind {
    Join,
    Shop,
    Pay { account: u8, amount: Yen },
    Attack,
    Scam,
    ReviewSweep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Task {
    at: At,
    person: u32,
    kind: TaskKind,
}

/// The event queue: a bucket per hour of the horizon, each in the order
/// its tasks were scheduled (time, then scheduling order, like a priority
/// queue on `(time, sequence number)`, at O(1) a task).
struct Calendar {
    slots: Vec<Vec<Task>>,
    current: usize,
    pos: usize,
}

impl Calendar {
    fn new(hours: usize) -> Calendar {
        Calendar {
            slots: (0..hours).map(|_| Vec::new()).collect(),
            current: 0,
            pos: 0,
        }
    }

    /// Schedule `task` in hour `slot` (past the horizon: dropped; never
    /// before the hour being run).
    fn push(&mut self, slot: usize, task: Task) {
        let slot = slot.max(self.current);
        if let Some(bucket) = self.slots.get_mut(slot) {
            bucket.push(task);
        }
    }

    fn pop(&mut self) -> Option<Task> {
        while let Some(bucket) = self.slots.get_mut(self.current) {
            if let Some(&task) = bucket.get(self.pos) {
                self.pos += 1;
                return Some(task);
            }
            // The hour is over: free its bucket.
            *bucket = Vec::new();
            self.current += 1;
            self.pos = 0;
        }
        None
    }
}

/// An order held for review, waiting for the analyst.
struct Held {
    order: OrderRef,
    person: u32,
    account: u8,
    shop: usize,
    amount: Yen,
    product: Product,
    pays: bool,
}

/// A cart about to be sent, with what the simulator keeps to itself.
struct Draft {
    account: usize,
    items: Vec<Item>,
    product: Product,
    channel: Channel,
    device: String,
    ip: String,
    target: bool,
    pays: bool,
}

/// The market's parameters.
#[derive(Clone, Debug)]
pub struct MarketSpec {
    /// Persons in the market.
    pub customers: u32,
    /// Days the market runs.
    pub days: u32,
    /// The seed of every random choice.
    pub seed: u64,
    /// Who is in the market.
    pub personas: Personas,
    /// The first day (JST).
    pub start: JstDate,
}

/// A market failed.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// The driver could not go on.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The start date plus the horizon is not a date.
    #[error("the market's dates are out of range")]
    Dates,
}

/// A market being run: the population, the event queue and the orders
/// waiting for an analyst.
pub struct Scenario {
    spec: MarketSpec,
    persons: Vec<Person>,
    queue: Calendar,
    held: Vec<Held>,
    orders_sent: u64,
    payments_sent: u64,
    start: At,
    end: At,
    wave_day: u32,
}

fn day_start(start: JstDate, day: u32) -> Result<At, MarketError> {
    let d = i32::try_from(day).map_err(|_| MarketError::Dates)?;
    start
        .plus_days(d)
        .map(JstDate::start_at)
        .map_err(|_| MarketError::Dates)
}

fn hour(at: At, h: u32) -> At {
    at.plus_ms(i64::from(h) * MS_PER_HOUR)
}

fn other(p: Product) -> Product {
    match p {
        Product::PerOrder => Product::Monthly,
        // The sister product of a partner's: the provider's own monthly.
        Product::Monthly | Product::Partner(_) => Product::PerOrder,
    }
}

fn caught(d: Decision) -> bool {
    matches!(d, Decision::Review | Decision::Decline)
}

impl Scenario {
    /// Build the population and the first events.
    pub fn new(spec: MarketSpec) -> Result<Scenario, MarketError> {
        let persons = population::build(spec.seed, spec.customers, spec.days, &spec.personas);
        let start = day_start(spec.start, 0)?;
        let end = day_start(spec.start, spec.days)?;
        let wave_day = population::takeover_wave_day(spec.days, &spec.personas);
        let mut s = Scenario {
            persons,
            queue: Calendar::new(usize::try_from(spec.days).unwrap_or(0).saturating_mul(24)),
            held: Vec::new(),
            orders_sent: 0,
            payments_sent: 0,
            start,
            end,
            wave_day,
            spec,
        };
        for i in 0..s.persons.len() {
            let p = &mut s.persons[i];
            let h = p.rng.random_range(8..=22);
            let at = hour(day_start(s.spec.start, p.join_day)?, h);
            let (id, persona, join_day) = (p.id, p.persona, p.join_day);
            s.push(at, id, TaskKind::Join);
            match persona {
                Persona::AccountTakeover => {
                    let h = s.persons[i].rng.random_range(1..=5);
                    let at = hour(day_start(s.spec.start, s.wave_day)?, h);
                    s.push(at, id, TaskKind::Attack);
                }
                Persona::ScamVictim => {
                    let day = join_day.saturating_add(s.spec.personas.market.scam_after_days);
                    if day < s.spec.days {
                        let h = s.persons[i].rng.random_range(10..=20);
                        s.push(hour(day_start(s.spec.start, day)?, h), id, TaskKind::Scam);
                    }
                }
                _ => {}
            }
        }
        s.push(hour(start, 23), u32::MAX, TaskKind::ReviewSweep);
        Ok(s)
    }

    /// The persons (with their labels and accounts).
    pub fn persons(&self) -> &[Person] {
        &self.persons
    }

    /// When the market opens and closes.
    pub fn horizon(&self) -> (At, At) {
        (self.start, self.end)
    }

    fn push(&mut self, at: At, person: u32, kind: TaskKind) {
        if at < self.start || at >= self.end {
            return;
        }
        let slot = usize::try_from((at.unix_ms() - self.start.unix_ms()) / MS_PER_HOUR)
            .unwrap_or(usize::MAX);
        self.queue.push(slot, Task { at, person, kind });
    }

    /// Run the market on `driver`, recording into `col`; `progress` hears
    /// each day as it starts.
    pub fn run<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        progress: &mut dyn FnMut(u32),
    ) -> Result<(), MarketError> {
        driver.setup(population::SHOPS, self.start)?;
        let mut day = 0u32;
        progress(0);
        while let Some(task) = self.queue.pop() {
            let d = u32::try_from((task.at.unix_ms() - self.start.unix_ms()) / (24 * MS_PER_HOUR))
                .unwrap_or(0);
            if d != day {
                day = d;
                progress(day);
            }
            driver.advance(task.at)?;
            self.handle(driver, col, task)?;
        }
        driver.advance(self.end)?;
        progress(self.spec.days);
        // What is owed at the close, per account.
        for p in &self.persons {
            for a in &p.accounts {
                if let Some(c) = a.customer {
                    let b = driver.balance(c)?;
                    let cluster = driver.cluster(c)?;
                    col.closing_account(p.persona, p.id, cluster, b);
                }
            }
        }
        Ok(())
    }

    fn handle<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        task: Task,
    ) -> Result<(), MarketError> {
        let pi = task.person as usize;
        match task.kind {
            TaskKind::ReviewSweep => self.sweep(driver, col, task.at),
            TaskKind::Join => self.join(driver, col, task.at, pi),
            TaskKind::Shop => self.shop(driver, col, task.at, pi),
            TaskKind::Pay { account, amount } => {
                self.pay(driver, col, task.at, pi, usize::from(account), amount)
            }
            TaskKind::Attack => self.attack(driver, col, task.at, pi),
            TaskKind::Scam => self.scam(driver, col, task.at, pi),
        }
    }

    fn sweep<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
    ) -> Result<(), MarketError> {
        let approve = self.spec.personas.market.analyst == AnalystVerdict::Approve;
        for h in std::mem::take(&mut self.held) {
            driver.resolve_review(at, h.order, approve)?;
            col.review_resolved(approve);
            if approve {
                let due = driver.capture(at, h.shop, h.order)?;
                if let (Some(due), true) = (due, h.pays) {
                    self.schedule_pay(h.person as usize, h.account, h.amount, at, due, h.product);
                }
            }
        }
        let next = at.plus_ms(24 * MS_PER_HOUR);
        if next < self.end {
            self.push(next, u32::MAX, TaskKind::ReviewSweep);
        }
        Ok(())
    }

    fn join<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let persona = self.persons[pi].persona;
        for a in 0..self.persons[pi].accounts.len() {
            let r = self.persons[pi].accounts[a].registration.clone();
            let c = driver.register(at, &r)?;
            col.registration(persona, c.is_some());
            // Those who pay in store verify their identity at sign-up.
            if let Some(c) = c
                && self.persons[pi].uses_in_store
            {
                driver.verify_identity(at, c, &r)?;
            }
            self.persons[pi].accounts[a].customer = c;
        }
        let id = self.persons[pi].id;
        // The first order comes with the registration (sign-up at checkout).
        self.push(at, id, TaskKind::Shop);
        Ok(())
    }

    fn next_shop(&mut self, pi: usize, at: At, gap_days: f64) {
        let p = &mut self.persons[pi];
        let h = p.rng.random_range(8..=22);
        let days = gap_days.clamp(1.0, 150.0);
        // Whole days (1–150), then the hour of the day.
        #[allow(clippy::cast_possible_truncation)]
        let whole = days.round() as i64;
        let base = At::from_unix_ms(
            at.unix_ms() - (at.unix_ms() - self.start.unix_ms()).rem_euclid(24 * MS_PER_HOUR),
        );
        let next = hour(base.plus_ms(whole * 24 * MS_PER_HOUR), h);
        let id = p.id;
        if next < self.end {
            self.push(next, id, TaskKind::Shop);
        }
    }

    fn exp_gap(&mut self, pi: usize) -> f64 {
        let p = &mut self.persons[pi];
        let u: f64 = p.rng.random_range(1e-6..1.0);
        -u.ln() * p.mean_gap_days
    }

    fn shop<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        if self.persons[pi].state.stopped {
            return Ok(());
        }
        match self.persons[pi].persona {
            Persona::Honest
            | Persona::Household
            | Persona::Dormitory
            | Persona::VariantSpelling
            | Persona::AccountTakeover
            | Persona::ScamVictim => {
                let draft = self.honest_cart(pi);
                let d = self.place(driver, col, at, pi, draft)?;
                let p = &mut self.persons[pi];
                if d == Decision::Decline {
                    p.state.declines_in_a_row += 1;
                    // Declined three times in a row: the shopper gives up
                    // deferred payment.
                    if p.state.declines_in_a_row >= 3 {
                        p.state.stopped = true;
                        return Ok(());
                    }
                } else {
                    p.state.declines_in_a_row = 0;
                }
                let gap = self.exp_gap(pi);
                self.next_shop(pi, at, gap);
            }
            Persona::CashoutNaive => self.naive(driver, col, at, pi)?,
            Persona::CashoutEvasive => self.evasive(driver, col, at, pi)?,
            Persona::CashoutMultiAccount => self.multi(driver, col, at, pi)?,
            Persona::Resale => self.resale(driver, col, at, pi)?,
            Persona::PrepaidLayering => self.layering(driver, col, at, pi)?,
        }
        Ok(())
    }

    fn session(&mut self, pi: usize, account: usize) -> (String, String) {
        let p = &mut self.persons[pi];
        let device = match p.link_mode {
            Some(LinkMode::AddressName) => p.devices[account % p.devices.len()].clone(),
            _ => p.devices[p.rng.random_range(0..p.devices.len())].clone(),
        };
        let ip = if p.link_mode != Some(LinkMode::AddressName) && p.rng.random_bool(0.75) {
            addresses::home_ip(&mut p.rng, p.home_net)
        } else {
            addresses::mobile_ip(&mut p.rng)
        };
        (device, ip)
    }

    fn draft(&mut self, pi: usize, account: usize, items: Vec<Item>, target: bool) -> Draft {
        let product = self.persons[pi].accounts[account].product;
        let (device, ip) = self.session(pi, account);
        let pays = self.persons[pi].habit != Habit::Never;
        Draft {
            account,
            items,
            product,
            channel: Channel::Online,
            device,
            ip,
            target,
            pays,
        }
    }

    fn honest_cart(&mut self, pi: usize) -> Draft {
        let p = &mut self.persons[pi];
        let account = p.rng.random_range(0..p.accounts.len());
        let mut product = p.accounts[account].product;
        if p.rng.random_bool(0.2) {
            product = other(product);
        }
        let in_store = p.uses_in_store && product == Product::Monthly && p.rng.random_bool(0.15);
        let mut items = Vec::new();
        if in_store {
            for _ in 0..p.rng.random_range(1..=2) {
                items.push(catalog::ordinary_item(&mut p.rng, p.price_level * 0.3));
            }
        } else {
            let n = match p.rng.random_range(0..100) {
                0..45 => 1,
                45..75 => 2,
                75..90 => 3,
                _ => 4,
            };
            for _ in 0..n {
                let r: f64 = p.rng.random();
                items.push(if r < 0.07 {
                    catalog::electronics_item(&mut p.rng, p.price_level)
                } else if r < 0.073 {
                    catalog::console(&mut p.rng)
                } else {
                    catalog::ordinary_item(&mut p.rng, p.price_level)
                });
            }
            // A present now and then, sometimes in a first order.
            let present = if p.state.orders == 0 { 0.03 } else { 0.02 };
            if p.rng.random_bool(present) {
                let amount = catalog::face_value(&mut p.rng, 1_000, 10_000, 1_000);
                let card = if p.rng.random_bool(0.7) {
                    catalog::gift_card(&mut p.rng, amount)
                } else {
                    catalog::prepaid(&mut p.rng, amount)
                };
                if p.rng.random_bool(0.5) {
                    items.clear();
                }
                items.push(card);
            }
        }
        let mut d = self.draft(pi, account, items, false);
        d.product = product;
        if in_store {
            d.channel = Channel::InStore;
        }
        d
    }

    /// Send a cart; capture it when approved (the shop ships at once) and
    /// schedule its payment by the person's habit; hold it for the analyst
    /// when held.
    fn place<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
        draft: Draft,
    ) -> Result<Decision, MarketError> {
        let p = &mut self.persons[pi];
        let label = Label {
            persona: p.persona,
            person: p.id,
            target: draft.target,
        };
        p.state.orders = p.state.orders.saturating_add(1);
        let Some(customer) = p.accounts[draft.account].customer else {
            return Ok(Decision::Refused);
        };
        let shipping = if p.persona == Persona::VariantSpelling || p.link_mode.is_some() {
            p.address
                .write(Style::ALL[p.rng.random_range(0..Style::ALL.len())])
        } else {
            p.accounts[draft.account].shipping.clone()
        };
        let shop = p.accounts[draft.account].registration.shop;
        self.orders_sent = self.orders_sent.saturating_add(1);
        let amount = catalog::cart_total(&draft.items);
        let liquid = catalog::is_liquid_cart(&draft.items);
        let request = OrderRequest {
            shop,
            merchant_order_id: format!("o{:09}", self.orders_sent),
            customer,
            product: draft.product,
            channel: draft.channel,
            items: draft.items,
            shipping_address: shipping,
            device_id: draft.device,
            ip: draft.ip,
        };
        let out = driver.authorize(at, &request)?;
        col.order(label, amount, liquid, &out);
        let account = u8::try_from(draft.account).unwrap_or(u8::MAX);
        match (out.decision, out.order) {
            (Decision::Approve, Some(order)) => {
                let due = driver.capture(at, shop, order)?;
                if let (Some(due), true) = (due, draft.pays) {
                    self.schedule_pay(pi, account, amount, at, due, draft.product);
                }
            }
            (Decision::Review, Some(order)) => self.held.push(Held {
                order,
                person: label.person,
                account,
                shop,
                amount,
                product: draft.product,
                pays: draft.pays,
            }),
            _ => {}
        }
        if label.target && caught(out.decision) {
            let p = &mut self.persons[pi];
            p.state.catches = p.state.catches.saturating_add(1);
        }
        Ok(out.decision)
    }

    fn schedule_pay(
        &mut self,
        pi: usize,
        account: u8,
        amount: Yen,
        at: At,
        due: JstDate,
        product: Product,
    ) {
        let p = &mut self.persons[pi];
        let today = at.jst_date();
        let tomorrow = today.plus_days(1).unwrap_or(today);
        let plus = |d: JstDate, n: i32| d.plus_days(n).unwrap_or(d);
        let day = match p.habit {
            Habit::Never => return,
            Habit::Early => match product {
                Product::PerOrder => plus(today, p.rng.random_range(1..=4)),
                // The monthly statement exists from the 1st: pay it early
                // (a partner's bill too).
                Product::Monthly | Product::Partner(_) => plus(due, -p.rng.random_range(5..=9))
                    .max(plus(due.first_of_month(), 1))
                    .max(tomorrow),
            },
            Habit::OnTime => plus(due, -p.rng.random_range(0..=2)).max(tomorrow),
            Habit::Late => plus(due, p.rng.random_range(3..=40)),
        };
        let id = p.id;
        let at = hour(day.start_at(), 12);
        if at < self.end {
            self.push(at, id, TaskKind::Pay { account, amount });
        }
    }

    fn pay<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
        account: usize,
        amount: Yen,
    ) -> Result<(), MarketError> {
        let p = &self.persons[pi];
        let Some(a) = p.accounts.get(account) else {
            return Ok(());
        };
        let Some(customer) = a.customer else {
            return Ok(());
        };
        let channel = a.registration.payment_method.as_str();
        let b = driver.balance(customer)?;
        if !b.total.is_positive() {
            return Ok(());
        }
        // The order's amount plus whatever fees, late fees and damages are
        // owed now; never more than the balance.
        let charges = b.total.checked_sub(b.principal).unwrap_or(Yen::ZERO);
        let want = amount.checked_add(charges).unwrap_or(b.total).min(b.total);
        self.payments_sent = self.payments_sent.saturating_add(1);
        let reference = format!("p{:09}", self.payments_sent);
        let ok = driver.pay(at, customer, want, channel, &reference)?;
        col.payment(want, ok);
        Ok(())
    }

    fn first_registered(&self, pi: usize) -> Option<(usize, CustomerRef)> {
        self.persons[pi]
            .accounts
            .iter()
            .enumerate()
            .find_map(|(i, a)| a.customer.map(|c| (i, c)))
    }

    /// The account-takeover wave: a crew on new devices and foreign IPs
    /// buys gift cards up to the limit; some carts padded with ordinary
    /// goods; never paid. The owner stops using the account.
    fn attack<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let Some((account, _)) = self.first_registered(pi) else {
            return Ok(());
        };
        let crew = u64::from(self.persons[pi].crew);
        let device = addresses::device(1_000_000_000 + crew);
        let mut approved = 0;
        for amount in [50_000i64, 30_000, 20_000, 10_000] {
            loop {
                let p = &mut self.persons[pi];
                let mut items = Vec::new();
                let mut left = amount;
                while left > 0 {
                    let face = left.min(10_000);
                    items.push(catalog::gift_card(&mut p.rng, Yen::new(face)));
                    left -= face;
                }
                if p.rng.random_bool(0.3) {
                    items.push(catalog::daily_item(&mut p.rng));
                    items.shuffle(&mut p.rng);
                }
                let ip = addresses::foreign_ip(&mut p.rng, crew);
                let product = p.accounts[account].product;
                let draft = Draft {
                    account,
                    items,
                    product,
                    channel: Channel::Online,
                    device: device.clone(),
                    ip,
                    target: true,
                    pays: false,
                };
                if self.place(driver, col, at, pi, draft)? != Decision::Approve {
                    break;
                }
                approved += 1;
                if approved >= 3 {
                    break;
                }
            }
            if approved >= 3 {
                break;
            }
        }
        self.persons[pi].state.stopped = true;
        Ok(())
    }

    /// A scam victim, on a caller's instruction: one to three large gift
    /// cards within the hour, unlike anything before.
    fn scam<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let Some((account, _)) = self.first_registered(pi) else {
            return Ok(());
        };
        let n = self.persons[pi].rng.random_range(1..=3);
        for _ in 0..n {
            let p = &mut self.persons[pi];
            let amount = catalog::face_value(&mut p.rng, 20_000, 50_000, 5_000);
            let mut items = vec![catalog::gift_card(&mut p.rng, amount)];
            if p.rng.random_bool(0.3) {
                items.push(catalog::ordinary_item(&mut p.rng, p.price_level));
            }
            let draft = self.draft(pi, account, items, true);
            self.place(driver, col, at, pi, draft)?;
        }
        Ok(())
    }

    fn naive<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let p = &mut self.persons[pi];
        let items = if p.state.orders == 0 && p.rng.random_bool(0.4) {
            // A first order that is a large gift card.
            let amount = catalog::face_value(&mut p.rng, 30_000, 50_000, 5_000);
            vec![catalog::gift_card(&mut p.rng, amount)]
        } else {
            if p.state.run_left == 0 {
                p.state.run_left = p.rng.random_range(3..=5);
                p.state.run_amount = [5_000, 10_000, 10_000, 20_000][p.rng.random_range(0..4)];
                p.state.brand = p.rng.random_range(0..6);
            }
            p.state.run_left -= 1;
            vec![catalog::gift_card_brand(
                p.state.brand,
                Yen::new(p.state.run_amount),
            )]
        };
        let draft = self.draft(pi, 0, items, true);
        self.place(driver, col, at, pi, draft)?;
        let p = &mut self.persons[pi];
        if p.state.catches >= 4 {
            p.state.stopped = true;
            return Ok(());
        }
        let gap = if p.state.run_left > 0 {
            1.0
        } else {
            f64::from(p.rng.random_range(10..=25))
        };
        self.next_shop(pi, at, gap);
        Ok(())
    }

    fn evasive<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let p = &mut self.persons[pi];
        let history = 2 + p.id % 3;
        let mut items: Vec<Item> = (0..p.rng.random_range(2..=4))
            .map(|_| catalog::daily_item(&mut p.rng))
            .collect();
        if p.state.orders < history {
            // An honest-looking history first, paid early.
            let draft = self.draft(pi, 0, items, false);
            self.place(driver, col, at, pi, draft)?;
            let gap = f64::from(self.persons[pi].rng.random_range(7..=12));
            self.next_shop(pi, at, gap);
            return Ok(());
        }
        // A small gift card among daily goods, brands and amounts varied,
        // slowly growing within ¥2,000–5,000.
        let k = i64::from(p.state.cycles);
        let amount = (2_000 + 300 * k + 500 * p.rng.random_range(0..=2)).min(5_000);
        p.state.brand = (p.state.brand + p.rng.random_range(1..=3)) % 6;
        items.push(catalog::gift_card_brand(p.state.brand, Yen::new(amount)));
        items.shuffle(&mut p.rng);
        p.state.cycles += 1;
        let draft = self.draft(pi, 0, items.clone(), true);
        let product = draft.product;
        let d = self.place(driver, col, at, pi, draft)?;
        if caught(d) {
            // Declined: try the sister product once.
            let mut draft = self.draft(pi, 0, items, true);
            draft.product = other(product);
            self.place(driver, col, at, pi, draft)?;
        }
        let gap = f64::from(self.persons[pi].rng.random_range(14..=21));
        self.next_shop(pi, at, gap);
        Ok(())
    }

    fn multi<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let p = &mut self.persons[pi];
        let amount = catalog::face_value(&mut p.rng, 5_000, 20_000, 1_000);
        let mut items = vec![catalog::gift_card(&mut p.rng, amount)];
        if p.rng.random_bool(0.5) {
            for _ in 0..p.rng.random_range(1..=2) {
                items.push(catalog::daily_item(&mut p.rng));
            }
        }
        let n = p.accounts.len();
        let first = p.state.next_account;
        // Declined or held: the same cart on the next account at once.
        for k in 0..n {
            let account = (first + k) % n;
            if self.persons[pi].accounts[account].customer.is_none() {
                continue;
            }
            let draft = self.draft(pi, account, items.clone(), true);
            let d = self.place(driver, col, at, pi, draft)?;
            self.persons[pi].state.next_account = (account + 1) % n;
            if d == Decision::Approve {
                break;
            }
        }
        let p = &mut self.persons[pi];
        if p.state.catches >= 8 {
            p.state.stopped = true;
            return Ok(());
        }
        let gap = f64::from(p.rng.random_range(5..=12));
        self.next_shop(pi, at, gap);
        Ok(())
    }

    fn resale<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let p = &mut self.persons[pi];
        let history = p.id % 3;
        if p.state.orders < history {
            let items = vec![catalog::ordinary_item(&mut p.rng, 0.3)];
            let draft = self.draft(pi, 0, items, false);
            self.place(driver, col, at, pi, draft)?;
            let gap = f64::from(self.persons[pi].rng.random_range(5..=15));
            self.next_shop(pi, at, gap);
            return Ok(());
        }
        let item = if p.rng.random_bool(0.6) {
            catalog::console(&mut p.rng)
        } else {
            catalog::smartphone(&mut p.rng)
        };
        p.state.cycles += 1;
        let draft = self.draft(pi, 0, vec![item], true);
        let d = self.place(driver, col, at, pi, draft)?;
        if caught(d) {
            let item = catalog::console(&mut self.persons[pi].rng);
            let draft = self.draft(pi, 0, vec![item], true);
            self.place(driver, col, at, pi, draft)?;
        }
        let p = &mut self.persons[pi];
        if p.state.cycles >= 3 {
            p.state.stopped = true;
            return Ok(());
        }
        let gap = f64::from(p.rng.random_range(20..=45));
        self.next_shop(pi, at, gap);
        Ok(())
    }

    fn layering<D: Driver>(
        &mut self,
        driver: &mut D,
        col: &mut Collector,
        at: At,
        pi: usize,
    ) -> Result<(), MarketError> {
        let p = &mut self.persons[pi];
        let amount = catalog::face_value(&mut p.rng, 3_000, 30_000, 1_000);
        let mut items = vec![catalog::prepaid(&mut p.rng, amount)];
        if p.rng.random_bool(0.3) {
            items.push(catalog::ordinary_item(&mut p.rng, 0.2));
        }
        let draft = self.draft(pi, 0, items, true);
        self.place(driver, col, at, pi, draft)?;
        let p = &mut self.persons[pi];
        if p.state.catches >= 4 {
            p.state.stopped = true;
            return Ok(());
        }
        let gap = f64::from(p.rng.random_range(7..=14));
        self.next_shop(pi, at, gap);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{AuthOutcome, Balance, Registration};
    use atobarai_core::Category;

    /// Approves everything; remembers what it was sent.
    #[derive(Default)]
    struct Stub {
        customers: u64,
        orders: Vec<(At, OrderRequest)>,
    }

    impl Driver for Stub {
        fn name(&self) -> &'static str {
            "stub"
        }
        fn setup(&mut self, _: &[&str], _: At) -> Result<(), DriverError> {
            Ok(())
        }
        fn advance(&mut self, _: At) -> Result<(), DriverError> {
            Ok(())
        }
        fn register(
            &mut self,
            _: At,
            _: &Registration,
        ) -> Result<Option<CustomerRef>, DriverError> {
            self.customers += 1;
            Ok(Some(CustomerRef(self.customers - 1)))
        }
        fn authorize(&mut self, at: At, o: &OrderRequest) -> Result<AuthOutcome, DriverError> {
            self.orders.push((at, o.clone()));
            Ok(AuthOutcome {
                order: Some(OrderRef(self.orders.len() as u64)),
                decision: Decision::Approve,
                reasons: Vec::new(),
                fired: Vec::new(),
            })
        }
        fn capture(
            &mut self,
            at: At,
            _: usize,
            _: OrderRef,
        ) -> Result<Option<JstDate>, DriverError> {
            Ok(at.jst_date().plus_days(14).ok())
        }
        fn resolve_review(&mut self, _: At, _: OrderRef, _: bool) -> Result<(), DriverError> {
            Ok(())
        }
        fn balance(&mut self, _: CustomerRef) -> Result<Balance, DriverError> {
            Ok(Balance::default())
        }
        fn cluster(&mut self, c: CustomerRef) -> Result<u64, DriverError> {
            Ok(c.0)
        }
        fn pay(
            &mut self,
            _: At,
            _: CustomerRef,
            _: Yen,
            _: &str,
            _: &str,
        ) -> Result<bool, DriverError> {
            Ok(true)
        }
    }

    /// Run a market of one persona on the stub: each person's orders.
    fn orders_of(persona: &str, n: u32, days: u32) -> (Scenario, Vec<Vec<(At, OrderRequest)>>) {
        let only = Persona::ALL
            .iter()
            .map(|&p| (p, if p.as_str() == persona { 1.0 } else { 0.0 }))
            .collect();
        let personas = Personas::from_weights(only, Default::default()).unwrap();
        let mut s = Scenario::new(MarketSpec {
            customers: n,
            days,
            seed: 5,
            personas,
            start: crate::default_start(),
        })
        .unwrap();
        let mut stub = Stub::default();
        let mut col = Collector::new(s.persons().iter().map(|p| (p.persona, p.accounts.len())));
        s.run(&mut stub, &mut col, &mut |_| {}).unwrap();
        let mut owner = std::collections::BTreeMap::new();
        for p in s.persons() {
            for a in &p.accounts {
                if let Some(c) = a.customer {
                    owner.insert(c, p.id as usize);
                }
            }
        }
        let mut per = vec![Vec::new(); s.persons().len()];
        for (at, o) in stub.orders {
            per[owner[&o.customer]].push((at, o));
        }
        (s, per)
    }

    #[test]
    fn evasive_cash_out_follows_the_playbook() {
        let (_, per) = orders_of("cashout_evasive", 30, 180);
        for orders in &per {
            let liquid: Vec<&(At, OrderRequest)> = orders
                .iter()
                .filter(|(_, o)| catalog::is_liquid_cart(&o.items))
                .collect();
            assert!(liquid.len() >= 2, "{} gift-card orders", liquid.len());
            // An honest-looking history first.
            assert!(!catalog::is_liquid_cart(&orders[0].1.items));
            let mut amounts = Vec::new();
            for (_, o) in &liquid {
                let cards: Vec<&Item> = o
                    .items
                    .iter()
                    .filter(|i| i.category == Category::GiftCard)
                    .collect();
                assert_eq!(cards.len(), 1);
                let a = cards[0].unit_price.get();
                assert!((2_000..=5_000).contains(&a), "gift card of ¥{a}");
                amounts.push(a);
                assert!(o.items.iter().filter(|i| !i.is_liquid()).count() >= 2);
            }
            for w in liquid.windows(2) {
                let days = (w[1].0.unix_ms() - w[0].0.unix_ms()) / (24 * MS_PER_HOUR);
                assert!((13..=22).contains(&days), "{days} days apart");
            }
            assert!(
                amounts.last() >= amounts.first(),
                "slowly growing: {amounts:?}"
            );
            let brands: std::collections::BTreeSet<&str> = liquid
                .iter()
                .flat_map(|(_, o)| o.items.iter())
                .filter(|i| i.category == Category::GiftCard)
                .map(|i| i.sku.split('-').nth(1).unwrap_or(""))
                .collect();
            assert!(brands.len() >= 2, "brands varied");
        }
    }

    #[test]
    fn naive_cash_out_repeats_one_amount_on_consecutive_days() {
        let (_, per) = orders_of("cashout_naive", 20, 90);
        for orders in &per {
            assert!(
                orders
                    .iter()
                    .all(|(_, o)| o.items.iter().all(Item::is_liquid))
            );
            let consecutive = orders.windows(2).any(|w| {
                let days = (w[1].0.unix_ms() - w[0].0.unix_ms()) / (24 * MS_PER_HOUR);
                days == 1
                    && catalog::cart_total(&w[0].1.items) == catalog::cart_total(&w[1].1.items)
            });
            assert!(consecutive, "no same-amount run");
        }
    }

    #[test]
    fn takeover_wave_hits_within_hours_from_new_devices() {
        let (s, per) = orders_of("account_takeover", 40, 100);
        let wave = day_start(s.spec.start, s.wave_day).unwrap();
        for (p, orders) in s.persons().iter().zip(&per) {
            let attack: Vec<_> = orders
                .iter()
                .filter(|(_, o)| o.ip.starts_with("185."))
                .collect();
            assert!(!attack.is_empty());
            for (at, o) in attack {
                let h = (at.unix_ms() - wave.unix_ms()) / MS_PER_HOUR;
                assert!((1..=5).contains(&h), "hour {h}");
                assert!(!p.devices.contains(&o.device_id), "a new device");
                assert!(o.items.iter().any(|i| i.category == Category::GiftCard));
            }
        }
    }
}
