//! A002, A003, A004, A008, A009: unknown kinds and attributes, duplicate names, undefined
//! references, imports, references of the wrong kind.

pub mod a002 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a block kind, attribute or nested block that the kind does not have,
        /// and suggests the closest valid one.
        ///
        /// ## Why is this bad?
        /// A misspelt attribute would otherwise be ignored silently and its default used.
        ///
        /// ## Example
        /// ```arch
        /// service users { replica = 3 }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// service users { replicas = 3 }
        /// ```
        A002, Error, "unknown block kind or attribute"
    }
}

pub mod a003 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports two components with the same name (after `-` → `_` normalisation, across
        /// all files of a program), the same attribute twice in one block, or two members
        /// (endpoints, tables, columns) with the same name. Both places are labelled.
        ///
        /// ## Why is this bad?
        /// References would be ambiguous, and one of the two values would be lost.
        ///
        /// ## Example
        /// ```arch
        /// service user-api { }
        /// service user_api { }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// service user_api { }
        /// service user_admin { }
        /// ```
        A003, Error, "duplicate name or attribute"
    }
}

pub mod a004 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a reference to a name that no component declares (or a table or
        /// endpoint that its component does not have), and suggests the closest one. An
        /// `instance` class that the price catalogue does not know (the built-in one, or the
        /// one given with `--pricing`) is reported the same way.
        ///
        /// ## Why is this bad?
        /// The architecture would have a dangling edge: a route to nowhere, a read from a
        /// database that does not exist.
        ///
        /// ## Example
        /// ```arch
        /// gateway edge { route "GET /users" { to = usres } }
        /// service users { endpoint list { route = "GET /users" work = 1ms } }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// gateway edge { route "GET /users" { to = users } }
        /// ```
        A004, Error, "reference to an undefined name", run
    }

    use crate::check::Context;
    use crate::diagnostic::Diagnostic;

    /// Names are resolved while lowering; instance classes need the catalogue, so they are
    /// checked here, by the same function `archc plan` uses.
    fn run(ctx: &Context) -> Vec<Diagnostic> {
        crate::plan::estimate::unknown_classes(ctx.program, ctx.catalogue)
    }
}

pub mod a008 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports an `import` whose file or directory does not exist, and import cycles
        /// (`a.arch` imports `b.arch` which imports `a.arch`), showing the cycle.
        ///
        /// ## Why is this bad?
        /// A missing import silently drops components; a cycle has no order of loading.
        ///
        /// ## Example
        /// ```arch
        /// import "limit.arch"   // the file is limits.arch
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// import "limits.arch"
        /// ```
        A008, Error, "import not found, or an import cycle"
    }
}

pub mod a009 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a reference to a component of the wrong kind, such as a route whose
        /// `to` names a cache, and points at the component's declaration.
        ///
        /// ## Why is this bad?
        /// A gateway cannot proxy to a cache; a consumer cannot read from a database.
        ///
        /// ## Example
        /// ```arch
        /// route "GET /products" { to = products_cache }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// route "GET /products" { to = catalog }   // the service that reads the cache
        /// ```
        A009, Error, "reference to a component of the wrong kind"
    }
}
