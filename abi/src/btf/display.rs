//! C-like names of types for diagnostics: `struct task_struct`, `u32`,
//! `char *`, `int[4]`, `const struct foo`, `int (*)(int, char *)`.
//!
//! Typedefs print as their name. A walk that goes deeper than
//! [`MAX_DEPTH`] references (a loop of modifiers, say) or visits more than
//! [`MAX_NODES`] types prints `...` there instead.

use super::{Btf, Param, Type, TypeId};
use std::fmt::Write;

/// Deepest chain of references followed.
const MAX_DEPTH: usize = 32;
/// Most types visited for one name (bounds prototypes with many
/// parameters that point to prototypes with many parameters).
const MAX_NODES: usize = 256;

/// The state of one walk.
struct Printer<'a> {
    btf: &'a Btf,
    out: String,
    nodes: usize,
}

impl Btf {
    /// A C-like name of type `id` for messages (`struct task_struct`,
    /// `unsigned int`, `u32`, `char *`, `int[4]`, `const struct foo`).
    /// Never fails: a bad id prints as `<bad type N>`, a loop as `...`.
    pub fn display(&self, id: TypeId) -> String {
        let mut printer = Printer {
            btf: self,
            out: String::new(),
            nodes: 0,
        };
        printer.ty(id, 0);
        printer.out
    }
}

impl Printer<'_> {
    fn named(&mut self, prefix: &str, name_off: u32, anonymous: &str) {
        self.out.push_str(prefix);
        match self.btf.str_at(name_off) {
            Ok(name) if !name.is_empty() => self.out.push_str(name),
            _ => self.out.push_str(anonymous),
        }
    }

    fn ty(&mut self, id: TypeId, depth: usize) {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            self.out.push_str("...");
            return;
        }
        let Ok(ty) = self.btf.get(id) else {
            let _ = write!(self.out, "<bad type {id}>");
            return;
        };
        match ty {
            Type::Void => self.out.push_str("void"),
            Type::Int(int) => self.named("", int.name_off, "<anon int>"),
            Type::Float { name_off, .. } => self.named("", *name_off, "<anon float>"),
            Type::Typedef { name_off, .. } => self.named("", *name_off, "<anon typedef>"),
            Type::Struct(c) => self.named("struct ", c.name_off, "(anon)"),
            Type::Union(c) => self.named("union ", c.name_off, "(anon)"),
            Type::Enum(e) => self.named("enum ", e.name_off, "(anon)"),
            Type::Fwd { name_off, union } => {
                let prefix = if *union { "union " } else { "struct " };
                self.named(prefix, *name_off, "(anon)");
            }
            Type::Ptr { target } => match self.btf.get(*target) {
                Ok(Type::FuncProto { ret, params }) => {
                    self.ty(*ret, depth + 1);
                    self.out.push_str(" (*)");
                    self.params(params, depth);
                }
                _ => {
                    self.ty(*target, depth + 1);
                    self.out
                        .push_str(if self.out.ends_with('*') { "*" } else { " *" });
                }
            },
            Type::Array(_) => {
                let mut dims = Vec::new();
                let mut elem = id;
                while let Ok(Type::Array(a)) = self.btf.get(elem) {
                    if dims.len() > MAX_DEPTH {
                        break;
                    }
                    dims.push(a.len);
                    elem = a.elem;
                }
                self.ty(elem, depth + 1);
                for len in dims {
                    let _ = write!(self.out, "[{len}]");
                }
            }
            Type::Const { target } => self.qualifier("const", *target, depth),
            Type::Volatile { target } => self.qualifier("volatile", *target, depth),
            Type::Restrict { target } => self.qualifier("restrict", *target, depth),
            Type::TypeTag {
                name_off, target, ..
            } => {
                self.ty(*target, depth + 1);
                self.named(" __tag(\"", *name_off, "");
                self.out.push_str("\")");
            }
            Type::Func {
                name_off, proto, ..
            } => match self.btf.get(*proto) {
                Ok(Type::FuncProto { ret, params }) => {
                    self.ty(*ret, depth + 1);
                    self.named(" ", *name_off, "(anon)");
                    self.params(params, depth);
                }
                _ => self.named("", *name_off, "(anon func)"),
            },
            Type::FuncProto { ret, params } => {
                self.ty(*ret, depth + 1);
                self.out.push(' ');
                self.params(params, depth);
            }
            Type::Var {
                name_off, target, ..
            } => {
                self.ty(*target, depth + 1);
                self.named(" ", *name_off, "(anon)");
            }
            Type::Datasec(d) => self.named("datasec ", d.name_off, "(anon)"),
            Type::DeclTag { name_off, .. } => self.named("decl_tag ", *name_off, "(anon)"),
        }
    }

    /// `const T`, or `T *const` when T is a pointer.
    fn qualifier(&mut self, word: &str, target: TypeId, depth: usize) {
        if let Ok(Type::Ptr { .. }) = self.btf.get(target) {
            self.ty(target, depth + 1);
            if !self.out.ends_with('*') {
                self.out.push(' ');
            }
            self.out.push_str(word);
        } else {
            self.out.push_str(word);
            self.out.push(' ');
            self.ty(target, depth + 1);
        }
    }

    /// `(int, char *)`, `(void)`, `(int, ...)`.
    fn params(&mut self, params: &[Param], depth: usize) {
        self.out.push('(');
        if params.is_empty() {
            self.out.push_str("void");
        }
        for (i, param) in params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if self.nodes > MAX_NODES {
                self.out.push_str("...");
                break;
            }
            if param.ty == 0 && param.name_off == 0 {
                self.out.push_str("...");
            } else {
                self.ty(param.ty, depth + 1);
            }
        }
        self.out.push(')');
    }
}
