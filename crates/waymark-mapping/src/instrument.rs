//! Walking and rewriting jq parse trees: the step/depth instrumentation the sandbox relies on,
//! and the facts `lint` reads from a program (recursive definitions, helper calls with their
//! literal arguments).
//!
//! Instrumentation inserts `wm_tick | …` at the start of the body of every **recursive**
//! definition (one whose body, nested definitions included, calls its own name with its own
//! arity) and of every `reduce` / `foreach` update. jq is lexically scoped: a definition can only
//! call earlier siblings, itself, its ancestors or its parameters, so every unbounded loop passes
//! through a recursive definition's entry, a fold iteration, or a `range` output (ticked by the
//! prelude's `range/3`).

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::path::{Opt, Part, Path};

/// The native every instrumented point calls.
pub(crate) const TICK: &str = "wm_tick";

/// Calls `f` on every direct subterm of `t` (definition bodies included).
pub(crate) fn for_each_child<'s>(t: &mut Term<&'s str>, f: &mut dyn FnMut(&mut Term<&'s str>)) {
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(_, parts) => parts.iter_mut().for_each(|p| {
            if let StrPart::Term(t) = p {
                f(t);
            }
        }),
        Term::Arr(t) => t.iter_mut().for_each(|t| f(t)),
        Term::Obj(entries) => entries.iter_mut().for_each(|(k, v)| {
            f(k);
            v.iter_mut().for_each(&mut *f);
        }),
        Term::Neg(t) | Term::Label(_, t) => f(t),
        Term::BinOp(l, op, r) => {
            f(l);
            if let BinaryOp::Pipe(Some(pattern)) = op {
                pattern_terms(pattern, f);
            }
            f(r);
        }
        Term::Fold(_, xs, pattern, fs) => {
            f(xs);
            pattern_terms(pattern, f);
            fs.iter_mut().for_each(&mut *f);
        }
        Term::TryCatch(t, c) => {
            f(t);
            c.iter_mut().for_each(|c| f(c));
        }
        Term::IfThenElse(branches, otherwise) => {
            for (cond, then) in branches {
                f(cond);
                f(then);
            }
            otherwise.iter_mut().for_each(|t| f(t));
        }
        Term::Def(defs, body) => {
            defs.iter_mut().for_each(|d| f(&mut d.body));
            f(body);
        }
        Term::Call(_, args) => args.iter_mut().for_each(f),
        Term::Path(t, path) => {
            f(t);
            for (part, _) in &mut path.0 {
                match part {
                    Part::Index(i) => f(i),
                    Part::Range(from, to) => {
                        from.iter_mut().for_each(&mut *f);
                        to.iter_mut().for_each(&mut *f);
                    }
                }
            }
        }
    }
}

fn pattern_terms<'s>(p: &mut Pattern<&'s str>, f: &mut dyn FnMut(&mut Term<&'s str>)) {
    match p {
        Pattern::Var(_) => {}
        Pattern::Arr(ps) => ps.iter_mut().for_each(|p| pattern_terms(p, f)),
        Pattern::Obj(entries) => entries.iter_mut().for_each(|(k, p)| {
            f(k);
            pattern_terms(p, f);
        }),
    }
}

/// Calls `f` on `t` and every term below it.
pub(crate) fn walk<'s>(t: &mut Term<&'s str>, f: &mut dyn FnMut(&mut Term<&'s str>)) {
    f(t);
    for_each_child(t, &mut |c| walk(c, f));
}

/// Whether `t` calls `name` with `arity` arguments anywhere.
fn calls(t: &mut Term<&str>, name: &str, arity: usize) -> bool {
    let mut found = false;
    walk(t, &mut |t| {
        if let Term::Call(n, args) = t {
            found |= *n == name && args.len() == arity;
        }
    });
    found
}

/// Whether a definition is recursive (its body calls its own name and arity).
pub(crate) fn is_recursive(def: &mut Def<&str>) -> bool {
    calls(&mut def.body, def.name, def.args.len())
}

fn ticked(body: Term<&str>) -> Term<&str> {
    let tick = Term::Call(TICK, Vec::new());
    Term::BinOp(Box::new(tick), BinaryOp::Pipe(None), Box::new(body))
}

/// Instruments a definition (and everything inside it).
pub(crate) fn instrument_def(def: &mut Def<&str>) {
    instrument(&mut def.body);
    if is_recursive(def) {
        def.body = ticked(std::mem::take(&mut def.body));
    }
}

/// Instruments every recursive definition and fold update inside `t`.
pub(crate) fn instrument(t: &mut Term<&str>) {
    match t {
        Term::Def(defs, body) => {
            defs.iter_mut().for_each(instrument_def);
            instrument(body);
        }
        Term::Fold(_, xs, pattern, fs) => {
            instrument(xs);
            pattern_terms(pattern, &mut instrument);
            fs.iter_mut().for_each(instrument);
            if let Some(update) = fs.get_mut(1) {
                *update = ticked(std::mem::take(update));
            }
        }
        other => for_each_child(other, &mut instrument),
    }
}

/// Objects of at most this many entries are built by one native call.
pub(crate) const MAX_OBJ: usize = 32;
/// The native that builds an object from `key, value, key, value, …` (see `natives.rs`).
pub(crate) const OBJ: &str = "wm_obj";

/// Rewrites object constructions `{k1: v1, …, kn: vn}` (2 ≤ n ≤ [`MAX_OBJ`]) into one call of
/// the native `wm_obj(k1; v1; …; kn; vn)`. jaq builds an object as `{k1: v1} + ({k2: v2} + …)`,
/// one map per entry merged pairwise (quadratic in the number of keys, about 1.5 µs a key);
/// the native builds one map. Same outputs in the same order (arguments bind like the
/// entries: a cartesian product), same last-key-wins for duplicate keys.
pub(crate) fn optimise_objects(t: &mut Term<&str>) {
    for_each_child(t, &mut optimise_objects);
    let Term::Obj(entries) = t else {
        return;
    };
    if entries.len() < 2 || entries.len() > MAX_OBJ {
        return;
    }
    let mut args = Vec::with_capacity(entries.len() * 2);
    for (key, value) in entries.iter() {
        let (key, value) = match (key, value) {
            (k, Some(v)) => (k.clone(), v.clone()),
            (Term::Var(x), None) => {
                let name = x.get(1..).unwrap_or_default();
                (Term::Str(None, vec![StrPart::Str(name)]), Term::Var(*x))
            }
            (k @ Term::Str(..), None) => {
                let path = Path(vec![(Part::Index(k.clone()), Opt::Essential)]);
                (k.clone(), Term::Path(Box::new(Term::Id), path))
            }
            // Anything else is left to jaq.
            _ => return,
        };
        args.push(key);
        args.push(value);
    }
    *t = Term::Call(OBJ, args);
}

/// A recursive definition found in a program: its name (a slice of the program text, for its
/// position) and arity.
pub(crate) fn recursive_defs<'s>(t: &mut Term<&'s str>) -> Vec<(&'s str, usize)> {
    let mut found = Vec::new();
    walk(t, &mut |t| {
        if let Term::Def(defs, _) = t {
            for def in defs.iter_mut() {
                if is_recursive(def) {
                    found.push((def.name, def.args.len()));
                }
            }
        }
    });
    found
}

/// Every call of `name/arity` in `t`: the name (a slice of the program text) and the first
/// argument when it is a literal string.
pub(crate) fn calls_of<'s>(
    t: &mut Term<&'s str>,
    name: &str,
    arity: usize,
) -> Vec<(&'s str, Option<&'s str>)> {
    let mut found = Vec::new();
    walk(t, &mut |t| {
        if let Term::Call(n, args) = t
            && *n == name
            && args.len() == arity
        {
            found.push((*n, args.first().and_then(literal)));
        }
    });
    found
}

/// The text of a literal string term without interpolation or escapes.
fn literal<'s>(t: &Term<&'s str>) -> Option<&'s str> {
    match t {
        Term::Str(None, parts) => match parts.as_slice() {
            [StrPart::Str(s)] => Some(*s),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(code: &str) -> Term<&str> {
        jaq_core::load::parse(code, |p| p.term()).unwrap()
    }

    #[test]
    fn finds_recursion_including_through_nested_definitions() {
        let mut t = term("def f: f + 1; def g(x): def h: g(x); h; def k: 1; def m($a): m(1; 2); f");
        let names = recursive_defs(&mut t);
        assert_eq!(names, [("f", 0), ("g", 1)]);
    }

    #[test]
    fn literal_arguments_of_helper_calls() {
        let mut t =
            term(r#"def x: wm_translate("a"); wm_translate("b" + "c"), ("z" | wm_translate("d"))"#);
        let found: Vec<_> = calls_of(&mut t, "wm_translate", 1)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        assert_eq!(found, [Some("a"), None, Some("d")]);
    }

    #[test]
    fn objects_become_one_native_call() {
        let mut t = term(r#"{a: 1, "b": 2, $x, c, (.k): {d: 3, e: 4}, f: {g: 5}}"#);
        optimise_objects(&mut t);
        match &t {
            Term::Call(OBJ, args) => {
                assert_eq!(args.len(), 12);
                assert!(matches!(&args[9], Term::Call(OBJ, inner) if inner.len() == 4));
                assert!(
                    matches!(&args[11], Term::Obj(_)),
                    "a one-entry object stays"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn instrumentation_ticks_recursive_bodies_and_fold_updates() {
        let mut t = term("def f: f; def g: 1; reduce .[] as $x (0; . + $x)");
        instrument(&mut t);
        let mut ticks = 0;
        walk(&mut t, &mut |t| {
            if matches!(t, Term::Call(TICK, _)) {
                ticks += 1;
            }
        });
        assert_eq!(ticks, 2);
    }
}
