//! The expression language: lexer, a recursive-descent parser that type
//! checks and emits postfix ops in one pass, and the stack evaluator.

use crate::schema::{FeatureId, Features, Schema, Type, Value};
use crate::{MAX_DEPTH, MAX_EXPR_LEN, MAX_LIST};

/// Deepest evaluation stack a compiled expression may need.
pub(crate) const MAX_STACK: usize = 64;

/// An error inside an expression: byte offset into the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExprError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// One postfix instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Int(i64),
    Bool(bool),
    Str(u32),
    Load(FeatureId, Type),
    Not,
    Neg,
    Abs,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Min,
    Max,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    InInt(u32),
    InStr(u32),
    /// `&&`: if the top is false, jump (keeping it); else pop it.
    AndJump(u32),
    /// `||`: if the top is true, jump (keeping it); else pop it.
    OrJump(u32),
}

/// A compiled boolean expression.
#[derive(Clone, Debug, Default)]
pub(crate) struct Program {
    pub(crate) ops: Vec<Op>,
    strs: Vec<Box<str>>,
    int_lists: Vec<Box<[i64]>>,
    str_lists: Vec<Box<[Box<str>]>>,
    /// Features read, sorted, without repeats.
    pub(crate) features: Vec<FeatureId>,
}

/// Why an expression could not be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotEvaluable;

type Stack<'a> = [Value<'a>; MAX_STACK];

pub(crate) fn new_stack<'a>() -> Stack<'a> {
    [Value::Int(0); MAX_STACK]
}

fn pop<'a>(stack: &Stack<'a>, sp: &mut usize) -> Result<Value<'a>, NotEvaluable> {
    *sp = sp.checked_sub(1).ok_or(NotEvaluable)?;
    stack.get(*sp).copied().ok_or(NotEvaluable)
}

fn pop_int(stack: &Stack<'_>, sp: &mut usize) -> Result<i64, NotEvaluable> {
    match pop(stack, sp)? {
        Value::Int(i) => Ok(i),
        _ => Err(NotEvaluable),
    }
}

fn push<'a>(stack: &mut Stack<'a>, sp: &mut usize, v: Value<'a>) -> Result<(), NotEvaluable> {
    let slot = stack.get_mut(*sp).ok_or(NotEvaluable)?;
    *slot = v;
    *sp = sp.saturating_add(1);
    Ok(())
}

/// Integer division: by zero is 0, `i64::MIN / -1` saturates.
pub(crate) fn div(a: i64, b: i64) -> i64 {
    match a.checked_div(b) {
        Some(q) => q,
        None if b == 0 => 0,
        None => i64::MAX,
    }
}

/// Integer remainder: by zero is 0, `i64::MIN % -1` is 0.
pub(crate) fn rem(a: i64, b: i64) -> i64 {
    a.checked_rem(b).unwrap_or(0)
}

impl Program {
    /// Evaluates to a bool. Never panics, never allocates.
    pub(crate) fn eval<'a, F: Features + ?Sized>(
        &'a self,
        features: &'a F,
        stack: &mut Stack<'a>,
    ) -> Result<bool, NotEvaluable> {
        let mut sp = 0usize;
        let mut pc = 0usize;
        while let Some(op) = self.ops.get(pc) {
            pc = pc.saturating_add(1);
            let v = match op {
                Op::Int(i) => Value::Int(*i),
                Op::Bool(b) => Value::Bool(*b),
                Op::Str(i) => Value::Str(self.strs.get(*i as usize).ok_or(NotEvaluable)?),
                Op::Load(id, ty) => {
                    let v = features.get(*id).ok_or(NotEvaluable)?;
                    if v.ty() != *ty {
                        return Err(NotEvaluable);
                    }
                    v
                }
                Op::Not => match pop(stack, &mut sp)? {
                    Value::Bool(b) => Value::Bool(!b),
                    _ => return Err(NotEvaluable),
                },
                Op::Neg => Value::Int(pop_int(stack, &mut sp)?.saturating_neg()),
                Op::Abs => Value::Int(pop_int(stack, &mut sp)?.saturating_abs()),
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem | Op::Min | Op::Max => {
                    let b = pop_int(stack, &mut sp)?;
                    let a = pop_int(stack, &mut sp)?;
                    Value::Int(match op {
                        Op::Add => a.saturating_add(b),
                        Op::Sub => a.saturating_sub(b),
                        Op::Mul => a.saturating_mul(b),
                        Op::Div => div(a, b),
                        Op::Rem => rem(a, b),
                        Op::Min => a.min(b),
                        _ => a.max(b),
                    })
                }
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let b = pop_int(stack, &mut sp)?;
                    let a = pop_int(stack, &mut sp)?;
                    Value::Bool(match op {
                        Op::Lt => a < b,
                        Op::Le => a <= b,
                        Op::Gt => a > b,
                        _ => a >= b,
                    })
                }
                Op::Eq | Op::Ne => {
                    let b = pop(stack, &mut sp)?;
                    let a = pop(stack, &mut sp)?;
                    if a.ty() != b.ty() {
                        return Err(NotEvaluable);
                    }
                    Value::Bool((a == b) == matches!(op, Op::Eq))
                }
                Op::InInt(l) => {
                    let a = pop_int(stack, &mut sp)?;
                    let list = self.int_lists.get(*l as usize).ok_or(NotEvaluable)?;
                    Value::Bool(list.contains(&a))
                }
                Op::InStr(l) => {
                    let a = match pop(stack, &mut sp)? {
                        Value::Str(s) => s,
                        _ => return Err(NotEvaluable),
                    };
                    let list = self.str_lists.get(*l as usize).ok_or(NotEvaluable)?;
                    Value::Bool(list.iter().any(|s| **s == *a))
                }
                Op::AndJump(t) | Op::OrJump(t) => {
                    let top = match stack.get(sp.checked_sub(1).ok_or(NotEvaluable)?) {
                        Some(Value::Bool(b)) => *b,
                        _ => return Err(NotEvaluable),
                    };
                    if top == matches!(op, Op::OrJump(_)) {
                        pc = *t as usize;
                    } else {
                        sp = sp.saturating_sub(1);
                    }
                    continue;
                }
            };
            push(stack, &mut sp, v)?;
        }
        match (sp, stack.first()) {
            (1, Some(Value::Bool(b))) => Ok(*b),
            _ => Err(NotEvaluable),
        }
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'s> {
    Int(i64),
    Str(&'s str),
    Ident(&'s str),
    True,
    False,
    In,
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Not,
    Minus,
    Plus,
    Star,
    Slash,
    Percent,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Eof,
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("integer `{i}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::In => "`in`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrack => "`[`".into(),
            Tok::RBrack => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Not => "`!`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Percent => "`%`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::EqEq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::AndAnd => "`&&`".into(),
            Tok::OrOr => "`||`".into(),
            Tok::Eof => "end of expression".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Token<'s> {
    tok: Tok<'s>,
    start: usize,
}

fn err(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(src: &str) -> Result<Vec<Token<'_>>, ExprError> {
    let bytes = src.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let mut out = Vec::new();
    let mut i = 0usize;
    loop {
        while at(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i = i.saturating_add(1);
        }
        let start = i;
        let Some(b) = at(i) else {
            out.push(Token {
                tok: Tok::Eof,
                start,
            });
            return Ok(out);
        };
        let next = at(i.saturating_add(1));
        let (tok, len) = match (b, next) {
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b'[', _) => (Tok::LBrack, 1),
            (b']', _) => (Tok::RBrack, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'+', _) => (Tok::Plus, 1),
            (b'-', _) => (Tok::Minus, 1),
            (b'*', _) => (Tok::Star, 1),
            (b'/', _) => (Tok::Slash, 1),
            (b'%', _) => (Tok::Percent, 1),
            (b'!', Some(b'=')) => (Tok::Ne, 2),
            (b'!', _) => (Tok::Not, 1),
            (b'<', Some(b'=')) => (Tok::Le, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'>', Some(b'=')) => (Tok::Ge, 2),
            (b'>', _) => (Tok::Gt, 1),
            (b'=', Some(b'=')) => (Tok::EqEq, 2),
            (b'=', _) => return Err(err(start, "unexpected `=`: compare with `==`")),
            (b'&', Some(b'&')) => (Tok::AndAnd, 2),
            (b'&', _) => return Err(err(start, "unexpected `&`: logical and is `&&`")),
            (b'|', Some(b'|')) => (Tok::OrOr, 2),
            (b'|', _) => return Err(err(start, "unexpected `|`: logical or is `||`")),
            (b'"', _) => {
                let mut j = i.saturating_add(1);
                loop {
                    match at(j) {
                        None => return Err(err(start, "unterminated string")),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            return Err(err(j, "escapes are not supported in strings"));
                        }
                        Some(_) => j = j.saturating_add(1),
                    }
                }
                let s = src
                    .get(i.saturating_add(1)..j)
                    .ok_or_else(|| err(start, "bad string"))?;
                (Tok::Str(s), j.saturating_sub(i).saturating_add(1))
            }
            (b'0'..=b'9', _) => {
                let mut j = i;
                let mut value: i64 = 0;
                let mut last_underscore = false;
                while let Some(c) = at(j) {
                    if c.is_ascii_digit() {
                        value = value
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(i64::from(c.saturating_sub(b'0'))))
                            .ok_or_else(|| err(start, "integer literal too large"))?;
                        last_underscore = false;
                    } else if c == b'_' {
                        if last_underscore {
                            return Err(err(j, "`__` in a number"));
                        }
                        last_underscore = true;
                    } else {
                        break;
                    }
                    j = j.saturating_add(1);
                }
                if last_underscore {
                    return Err(err(j.saturating_sub(1), "a number cannot end with `_`"));
                }
                let unit = match at(j) {
                    Some(b'd') => Some(86_400),
                    Some(b'h') => Some(3_600),
                    Some(b'm') => Some(60),
                    Some(b's') => Some(1),
                    _ => None,
                };
                if let Some(unit) = unit {
                    value = value
                        .checked_mul(unit)
                        .ok_or_else(|| err(start, "duration literal too large"))?;
                    j = j.saturating_add(1);
                }
                if at(j).is_some_and(is_ident_char) {
                    return Err(err(
                        j,
                        "unexpected character after a number (durations are `s`, `m`, `h`, `d`)",
                    ));
                }
                (Tok::Int(value), j.saturating_sub(i))
            }
            (c, _) if is_ident_start(c) => {
                let mut j = i;
                loop {
                    while at(j).is_some_and(is_ident_char) {
                        j = j.saturating_add(1);
                    }
                    if at(j) == Some(b'.') && at(j.saturating_add(1)).is_some_and(is_ident_start) {
                        j = j.saturating_add(1);
                    } else {
                        break;
                    }
                }
                let word = src.get(i..j).ok_or_else(|| err(start, "bad name"))?;
                let tok = match word {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "in" => Tok::In,
                    "and" => return Err(err(start, "`and` is not an operator: use `&&`")),
                    "or" => return Err(err(start, "`or` is not an operator: use `||`")),
                    "not" => return Err(err(start, "`not` is not an operator: use `!`")),
                    w => Tok::Ident(w),
                };
                (tok, j.saturating_sub(i))
            }
            _ => {
                let c = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(err(start, format!("unexpected character `{c}`")));
            }
        };
        i = i.saturating_add(len);
        out.push(Token { tok, start });
    }
}

// ---------------------------------------------------------------- parser

/// The static type of a sub-expression; `Poison` after a reported error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    T(Type),
    Poison,
}

#[derive(Clone, Copy, Debug)]
struct Typed {
    ty: Ty,
    start: usize,
}

struct Parser<'s, 'c> {
    toks: Vec<Token<'s>>,
    pos: usize,
    schema: &'c Schema,
    prog: Program,
    errors: Vec<ExprError>,
    depth: usize,
    sp: usize,
    max_sp: usize,
}

type PResult<T> = Result<T, ExprError>;

impl<'s> Parser<'s, '_> {
    fn peek(&self) -> Token<'s> {
        self.toks.get(self.pos).copied().unwrap_or(Token {
            tok: Tok::Eof,
            start: 0,
        })
    }

    fn bump(&mut self) -> Token<'s> {
        let t = self.peek();
        self.pos = self.pos.saturating_add(1);
        t
    }

    fn expect(&mut self, tok: Tok<'static>, what: &str) -> PResult<Token<'s>> {
        let t = self.peek();
        if t.tok == tok {
            Ok(self.bump())
        } else {
            Err(err(
                t.start,
                format!("expected {what}, found {}", t.tok.describe()),
            ))
        }
    }

    /// Emits an op, tracking the stack depth (`pops` popped, one pushed).
    fn emit(&mut self, op: Op, pops: usize) {
        self.sp = self.sp.saturating_sub(pops).saturating_add(1);
        self.max_sp = self.max_sp.max(self.sp);
        self.prog.ops.push(op);
    }

    fn type_error(&mut self, offset: usize, message: String) -> Ty {
        self.errors.push(err(offset, message));
        Ty::Poison
    }

    /// Checks that `t` has type `want`; reports and poisons otherwise.
    fn want(&mut self, t: Typed, want: Type, context: &str) -> bool {
        match t.ty {
            Ty::T(ty) if ty == want => true,
            Ty::T(ty) => {
                self.type_error(t.start, format!("{context} needs {want}, found {ty}"));
                false
            }
            Ty::Poison => false,
        }
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth = self.depth.saturating_add(1);
        if self.depth > MAX_DEPTH {
            return Err(err(
                at,
                format!("expression nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn or(&mut self) -> PResult<Typed> {
        self.logical(true)
    }

    fn logical(&mut self, is_or: bool) -> PResult<Typed> {
        let (op_tok, name) = if is_or {
            (Tok::OrOr, "`||`")
        } else {
            (Tok::AndAnd, "`&&`")
        };
        let mut left = if is_or {
            self.logical(false)?
        } else {
            self.comparison()?
        };
        while self.peek().tok == op_tok {
            self.bump();
            let mut ok = self.want(left, Type::Bool, &format!("the left side of {name}"));
            let jump_at = self.prog.ops.len();
            self.prog
                .ops
                .push(if is_or { Op::OrJump(0) } else { Op::AndJump(0) });
            self.sp = self.sp.saturating_sub(1);
            let right = if is_or {
                self.logical(false)?
            } else {
                self.comparison()?
            };
            ok &= self.want(right, Type::Bool, &format!("the right side of {name}"));
            let target = u32::try_from(self.prog.ops.len()).unwrap_or(u32::MAX);
            if let Some(op) = self.prog.ops.get_mut(jump_at) {
                *op = if is_or {
                    Op::OrJump(target)
                } else {
                    Op::AndJump(target)
                };
            }
            left = Typed {
                ty: if ok { Ty::T(Type::Bool) } else { Ty::Poison },
                start: left.start,
            };
        }
        Ok(left)
    }

    fn comparison(&mut self) -> PResult<Typed> {
        let left = self.additive()?;
        let t = self.peek();
        let op = match t.tok {
            Tok::Lt => Op::Lt,
            Tok::Le => Op::Le,
            Tok::Gt => Op::Gt,
            Tok::Ge => Op::Ge,
            Tok::EqEq => Op::Eq,
            Tok::Ne => Op::Ne,
            Tok::In => {
                self.bump();
                return self.in_list(left, t.start);
            }
            _ => return Ok(left),
        };
        self.bump();
        let right = self.additive()?;
        let ty = match op {
            Op::Eq | Op::Ne => match (left.ty, right.ty) {
                (Ty::T(a), Ty::T(b)) if a != b => self.type_error(
                    t.start,
                    format!("{} compares {a} with {b}", t.tok.describe()),
                ),
                (Ty::T(_), Ty::T(_)) => Ty::T(Type::Bool),
                _ => Ty::Poison,
            },
            _ => {
                let what = t.tok.describe().to_string();
                let a = self.want(left, Type::Int, &what);
                let b = self.want(right, Type::Int, &what);
                if a && b {
                    Ty::T(Type::Bool)
                } else {
                    Ty::Poison
                }
            }
        };
        self.emit(op, 2);
        let next = self.peek();
        if matches!(
            next.tok,
            Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::EqEq | Tok::Ne | Tok::In
        ) {
            return Err(err(
                next.start,
                "comparisons cannot be chained: combine them with `&&`",
            ));
        }
        Ok(Typed {
            ty,
            start: left.start,
        })
    }

    fn in_list(&mut self, left: Typed, at: usize) -> PResult<Typed> {
        self.expect(Tok::LBrack, "`[` after `in`")?;
        let mut ints: Vec<i64> = Vec::new();
        let mut strs: Vec<Box<str>> = Vec::new();
        let mut kind: Option<Type> = None;
        let mut count = 0usize;
        loop {
            let t = self.peek();
            if t.tok == Tok::RBrack {
                self.bump();
                break;
            }
            let (item_ty, item) = match t.tok {
                Tok::Int(i) => {
                    self.bump();
                    (Type::Int, Ok(i))
                }
                Tok::Minus => {
                    self.bump();
                    match self.bump().tok {
                        Tok::Int(i) => (Type::Int, Ok(i.saturating_neg())),
                        _ => return Err(err(t.start, "expected an integer after `-` in a list")),
                    }
                }
                Tok::Str(s) => {
                    self.bump();
                    (Type::Str, Err(s))
                }
                other => {
                    return Err(err(
                        t.start,
                        format!(
                            "a list holds integer or string literals, found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            count = count.saturating_add(1);
            if count > MAX_LIST {
                return Err(err(
                    t.start,
                    format!("a list holds at most {MAX_LIST} items"),
                ));
            }
            match kind {
                None => kind = Some(item_ty),
                Some(k) if k != item_ty => {
                    return Err(err(
                        t.start,
                        format!("a list of {k} cannot hold a {item_ty}"),
                    ));
                }
                Some(_) => {}
            }
            match item {
                Ok(i) => ints.push(i),
                Err(s) => strs.push(s.into()),
            }
            match self.peek().tok {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RBrack => {}
                other => {
                    return Err(err(
                        self.peek().start,
                        format!("expected `,` or `]` in a list, found {}", other.describe()),
                    ));
                }
            }
        }
        let list_ty = kind.unwrap_or(match left.ty {
            Ty::T(Type::Str) => Type::Str,
            _ => Type::Int,
        });
        let ty = match (left.ty, list_ty) {
            (Ty::T(Type::Bool), _) => {
                self.type_error(at, "`in` needs an int or str, found bool".into())
            }
            (Ty::T(a), b) if a != b => {
                self.type_error(at, format!("`in` looks for a {a} in a list of {b}"))
            }
            (Ty::T(_), _) => Ty::T(Type::Bool),
            (Ty::Poison, _) => Ty::Poison,
        };
        if list_ty == Type::Str {
            let idx = u32::try_from(self.prog.str_lists.len()).unwrap_or(u32::MAX);
            self.prog.str_lists.push(strs.into_boxed_slice());
            self.emit(Op::InStr(idx), 1);
        } else {
            let idx = u32::try_from(self.prog.int_lists.len()).unwrap_or(u32::MAX);
            self.prog.int_lists.push(ints.into_boxed_slice());
            self.emit(Op::InInt(idx), 1);
        }
        let next = self.peek();
        if matches!(
            next.tok,
            Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::EqEq | Tok::Ne | Tok::In
        ) {
            return Err(err(
                next.start,
                "comparisons cannot be chained: combine them with `&&`",
            ));
        }
        Ok(Typed {
            ty,
            start: left.start,
        })
    }

    fn additive(&mut self) -> PResult<Typed> {
        let mut left = self.multiplicative()?;
        loop {
            let t = self.peek();
            let op = match t.tok {
                Tok::Plus => Op::Add,
                Tok::Minus => Op::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative()?;
            left = self.arith(op, t, left, right);
        }
    }

    fn multiplicative(&mut self) -> PResult<Typed> {
        let mut left = self.unary()?;
        loop {
            let t = self.peek();
            let op = match t.tok {
                Tok::Star => Op::Mul,
                Tok::Slash => Op::Div,
                Tok::Percent => Op::Rem,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = self.arith(op, t, left, right);
        }
    }

    fn arith(&mut self, op: Op, t: Token<'_>, left: Typed, right: Typed) -> Typed {
        let what = t.tok.describe().to_string();
        let a = self.want(left, Type::Int, &what);
        let b = self.want(right, Type::Int, &what);
        self.emit(op, 2);
        Typed {
            ty: if a && b { Ty::T(Type::Int) } else { Ty::Poison },
            start: left.start,
        }
    }

    fn unary(&mut self) -> PResult<Typed> {
        let t = self.peek();
        match t.tok {
            Tok::Not | Tok::Minus => {
                self.bump();
                self.enter(t.start)?;
                let operand = self.unary()?;
                self.leave();
                let (want, op) = if t.tok == Tok::Not {
                    (Type::Bool, Op::Not)
                } else {
                    (Type::Int, Op::Neg)
                };
                // Fold `-<literal>` so that i64::MIN can be written.
                if op == Op::Neg
                    && let Some(Op::Int(i)) = self.prog.ops.last_mut()
                    && operand.ty == Ty::T(Type::Int)
                {
                    *i = i.saturating_neg();
                    return Ok(Typed {
                        ty: operand.ty,
                        start: t.start,
                    });
                }
                let ok = self.want(operand, want, &t.tok.describe());
                self.emit(op, 1);
                Ok(Typed {
                    ty: if ok { Ty::T(want) } else { Ty::Poison },
                    start: t.start,
                })
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> PResult<Typed> {
        let t = self.bump();
        let start = t.start;
        let ty = match t.tok {
            Tok::Int(i) => {
                self.emit(Op::Int(i), 0);
                Type::Int
            }
            Tok::True | Tok::False => {
                self.emit(Op::Bool(t.tok == Tok::True), 0);
                Type::Bool
            }
            Tok::Str(s) => {
                let idx = u32::try_from(self.prog.strs.len()).unwrap_or(u32::MAX);
                self.prog.strs.push(s.into());
                self.emit(Op::Str(idx), 0);
                Type::Str
            }
            Tok::LParen => {
                self.enter(start)?;
                let inner = self.or()?;
                self.expect(Tok::RParen, "`)`")?;
                self.leave();
                return Ok(Typed {
                    ty: inner.ty,
                    start,
                });
            }
            Tok::Ident(name) if self.peek().tok == Tok::LParen => {
                return self.call(name, start);
            }
            Tok::Ident(name) => match self.schema.id(name) {
                Some(id) => {
                    let ty = self.schema.ty(id).unwrap_or(Type::Int);
                    self.prog.features.push(id);
                    self.emit(Op::Load(id, ty), 0);
                    ty
                }
                None => {
                    let mut message = format!("unknown feature `{name}`");
                    if let Some(s) = self.schema.suggest(name) {
                        message.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    self.errors.push(err(start, message));
                    self.emit(Op::Int(0), 0);
                    return Ok(Typed {
                        ty: Ty::Poison,
                        start,
                    });
                }
            },
            other => {
                return Err(err(
                    start,
                    format!("expected a value, found {}", other.describe()),
                ));
            }
        };
        Ok(Typed {
            ty: Ty::T(ty),
            start,
        })
    }

    fn call(&mut self, name: &str, start: usize) -> PResult<Typed> {
        let (op, arity) = match name {
            "min" => (Op::Min, 2),
            "max" => (Op::Max, 2),
            "abs" => (Op::Abs, 1),
            _ => {
                return Err(err(
                    start,
                    format!("unknown function `{name}` (functions: min, max, abs)"),
                ));
            }
        };
        self.bump(); // (
        self.enter(start)?;
        let mut ok = true;
        for i in 0..arity {
            if i > 0 {
                self.expect(
                    Tok::Comma,
                    &format!("`,` (`{name}` takes {arity} arguments)"),
                )?;
            }
            let arg = self.or()?;
            ok &= self.want(arg, Type::Int, &format!("`{name}`"));
        }
        self.expect(
            Tok::RParen,
            &format!("`)` (`{name}` takes {arity} argument(s))"),
        )?;
        self.leave();
        self.emit(op, arity);
        Ok(Typed {
            ty: if ok { Ty::T(Type::Int) } else { Ty::Poison },
            start,
        })
    }
}

/// Parses, checks and compiles a condition; it must be of type bool.
pub(crate) fn compile(src: &str, schema: &Schema) -> Result<Program, Vec<ExprError>> {
    if src.len() > MAX_EXPR_LEN {
        return Err(vec![err(
            0,
            format!("expression longer than {MAX_EXPR_LEN} bytes"),
        )]);
    }
    let toks = lex(src).map_err(|e| vec![e])?;
    let mut p = Parser {
        toks,
        pos: 0,
        schema,
        prog: Program::default(),
        errors: Vec::new(),
        depth: 0,
        sp: 0,
        max_sp: 0,
    };
    let result = p.or();
    let top = match result {
        Ok(t) => t,
        Err(e) => {
            p.errors.push(e);
            return Err(p.errors);
        }
    };
    let rest = p.peek();
    if rest.tok != Tok::Eof {
        p.errors.push(err(
            rest.start,
            format!(
                "expected an operator or the end, found {}",
                rest.tok.describe()
            ),
        ));
        return Err(p.errors);
    }
    if let Ty::T(ty) = top.ty
        && ty != Type::Bool
    {
        p.errors.push(err(
            top.start,
            format!("a condition must be bool, found {ty}"),
        ));
    }
    if p.max_sp > MAX_STACK {
        p.errors
            .push(err(0, "expression too complex (evaluation stack)"));
    }
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    let mut prog = p.prog;
    prog.features.sort_unstable();
    prog.features.dedup();
    Ok(prog)
}

#[cfg(test)]
#[allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(&[
            ("cart.total", Type::Int),
            ("cart.liquid_share_bp", Type::Int),
            ("account.age_days", Type::Int),
            ("account.new_device", Type::Bool),
            ("order.channel", Type::Str),
        ])
    }

    fn run(src: &str, vals: &[Value<'_>]) -> Result<bool, NotEvaluable> {
        let s = schema();
        let p = compile(src, &s).unwrap_or_else(|e| std::panic::panic_any(format!("{src}: {e:?}")));
        let mut st = new_stack();
        p.eval(vals, &mut st)
    }

    fn vals() -> Vec<Value<'static>> {
        vec![
            Value::Int(12_000),
            Value::Int(9_000),
            Value::Int(3),
            Value::Bool(true),
            Value::Str("online"),
        ]
    }

    fn errs(src: &str) -> Vec<(usize, String)> {
        match compile(src, &schema()) {
            Ok(_) => vec![],
            Err(e) => e.into_iter().map(|e| (e.offset, e.message)).collect(),
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn evaluates() {
        let v = vals();
        let t = |s: &str| run(s, &v).unwrap();
        assert!(t("cart.total >= 10_000 && cart.liquid_share_bp > 8000"));
        assert!(t("account.new_device"));
        assert!(!t("!account.new_device"));
        assert!(t("order.channel == \"online\""));
        assert!(t("order.channel in [\"online\", \"in_store\"]"));
        assert!(!t("order.channel in []"));
        assert!(t("account.age_days in [1, 2, 3]"));
        assert!(t("account.age_days * 1d < 14d"));
        assert!(t(
            "36h == 129600 && 90m == 5400 && 14d == 1209600 && 5s == 5"
        ));
        assert!(t(
            "-3 + 1 == -2 && 7 / 2 == 3 && 7 % 3 == 1 && 2 + 3 * 4 == 14"
        ));
        assert!(t("(2 + 3) * 4 == 20"));
        assert!(t("min(1, 2) == 1 && max(1, 2) == 2 && abs(-5) == 5"));
        assert!(t("5 / 0 == 0 && 5 % 0 == 0"));
        assert!(t("9_223_372_036_854_775_807 + 1 == 9223372036854775807"));
        assert!(t("-9223372036854775807 - 10 == -9223372036854775807 - 1"));
        assert!(t("(-9223372036854775807 - 1) / -1 == 9223372036854775807"));
        assert!(t("(-9223372036854775807 - 1) % -1 == 0"));
        assert!(t("abs(-9223372036854775807 - 1) == 9223372036854775807"));
        assert!(t("true || cart.total / 0 == 1"));
        assert!(t("false || true"));
        assert!(!t("false && true"));
        assert!(t("true == true && \"a\" != \"b\""));
    }

    #[test]
    fn short_circuit_skips_unevaluable() {
        let v = vec![Value::Int(1)]; // the rest is missing
        assert_eq!(run("cart.total == 1 || account.new_device", &v), Ok(true));
        assert_eq!(run("cart.total == 2 && account.new_device", &v), Ok(false));
        assert_eq!(
            run("cart.total == 2 || account.new_device", &v),
            Err(NotEvaluable)
        );
        let wrong = vec![Value::Bool(true)];
        assert_eq!(run("cart.total == 1", &wrong), Err(NotEvaluable));
    }

    #[test]
    fn errors_are_collected_and_placed() {
        assert_eq!(
            errs("cart.totl > 1 && cart.total + true > 2"),
            vec![
                (
                    0,
                    "unknown feature `cart.totl` (did you mean `cart.total`?)".to_owned()
                ),
                (30, "`+` needs int, found bool".to_owned()),
            ]
        );
        assert_eq!(
            errs("cart.total + 1"),
            vec![(0, "a condition must be bool, found int".into())]
        );
        assert_eq!(
            errs("cart.total = 1"),
            vec![(11, "unexpected `=`: compare with `==`".into())]
        );
        assert_eq!(
            errs("1 < 2 < 3"),
            vec![(
                6,
                "comparisons cannot be chained: combine them with `&&`".into()
            )]
        );
        assert_eq!(
            errs("order.channel == 1"),
            vec![(14, "`==` compares str with int".into())]
        );
        assert_eq!(
            errs("order.channel in [1]"),
            vec![(14, "`in` looks for a str in a list of int".into())]
        );
        assert_eq!(
            errs("1 in [1, \"a\"]"),
            vec![(9, "a list of int cannot hold a str".into())]
        );
        assert_eq!(
            errs("foo(1)"),
            vec![(
                0,
                "unknown function `foo` (functions: min, max, abs)".into()
            )]
        );
        assert_eq!(
            errs("min(1)"),
            vec![(
                5,
                "expected `,` (`min` takes 2 arguments), found `)`".into()
            )]
        );
        assert_eq!(
            errs("(true"),
            vec![(5, "expected `)`, found end of expression".into())]
        );
        assert_eq!(
            errs("true true"),
            vec![(5, "expected an operator or the end, found `true`".into())]
        );
        assert_eq!(
            errs("99999999999999999999 > 1"),
            vec![(0, "integer literal too large".into())]
        );
        assert_eq!(
            errs("14x > 1"),
            vec![(
                2,
                "unexpected character after a number (durations are `s`, `m`, `h`, `d`)".into()
            )]
        );
        assert_eq!(
            errs("\"a\\\"b\" == \"\""),
            vec![(2, "escapes are not supported in strings".into())]
        );
        assert_eq!(
            errs("1 + true && 2"),
            vec![
                (4, "`+` needs int, found bool".into()),
                (12, "the right side of `&&` needs bool, found int".into()),
            ]
        );
    }

    #[test]
    fn limits() {
        let deep = format!("{}true{}", "(".repeat(33), ")".repeat(33));
        assert_eq!(
            errs(&deep),
            vec![(32, "expression nested deeper than 32".into())]
        );
        let ok = format!("{}true{}", "(".repeat(32), ")".repeat(32));
        assert_eq!(errs(&ok), vec![]);
        let long = format!("true{}", " ".repeat(MAX_EXPR_LEN));
        assert_eq!(errs(&long)[0].1, "expression longer than 4096 bytes");
        let list: Vec<String> = (0..65).map(|i| i.to_string()).collect();
        let e = errs(&format!("1 in [{}]", list.join(",")));
        assert_eq!(e[0].1, "a list holds at most 64 items");
        let chain = vec!["cart.total > 1"; 200].join(" && ");
        assert_eq!(errs(&chain), vec![]);
    }

    #[test]
    fn features_read_are_listed_once() {
        let s = schema();
        let p = compile(
            "order.channel == \"x\" || cart.total > 1 && cart.total < 9",
            &s,
        );
        assert_eq!(
            p.map(|p| p.features).ok(),
            Some(vec![FeatureId(0), FeatureId(4)])
        );
    }
}
