//! Prints the public holidays of a range of years as `YYYY-MM-DD,name_ja`,
//! one a line, for comparing the calendar with other holiday tables.
//!
//! ```text
//! cargo run -p atobarai-billing --example dump_holidays -- 1990 2030
//! ```

use atobarai_billing::calendar::holidays_of_year;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let year = |i: usize, default: i16| -> i16 {
        match args.get(i) {
            Some(s) => s.parse().unwrap_or_else(|_| {
                eprintln!("usage: dump_holidays [FIRST_YEAR [LAST_YEAR]]");
                std::process::exit(2)
            }),
            None => default,
        }
    };
    let first = year(0, 1990);
    let last = year(1, first.max(2030));
    for y in first..=last {
        for (date, holiday) in holidays_of_year(y).iter() {
            println!("{date},{}", holiday.name_ja());
        }
    }
}
