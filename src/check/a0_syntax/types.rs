//! A005, A006, A007, A010: types and units, ranges, required attributes, secrets.

pub mod a005 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a value of the wrong type or unit for its attribute, and says the
        /// expected type: a size where a duration is needed, a percent where a count is,
        /// an enum word that the attribute does not accept (with the closest valid word).
        ///
        /// ## Why is this bad?
        /// `ttl = 4GB` has no meaning; every literal carries its unit so that such mistakes
        /// are caught before anything is deployed.
        ///
        /// ## Example
        /// ```arch
        /// layer memory { ttl = 4GB }
        /// service s { replicas = 70% }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// layer memory { ttl = 30s }
        /// service s { replicas = 3 }
        /// ```
        A005, Error, "value of the wrong type or unit"
    }
}

pub mod a006 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a value outside its attribute's documented range: a percent above 100%,
        /// a count below its minimum (a service's `replicas` ≥ 1, a database's `replicas`
        /// ≥ 0), a zero or negative rate, a negative duration, a zero duration where it must
        /// be positive (`timeout`, `interval`, a cache layer's `ttl`), an empty list where
        /// one is needed.
        ///
        /// ## Why is this bad?
        /// Such values cannot be deployed (zero replicas) or mean something else than
        /// intended (a limit of `0/s` refuses everything).
        ///
        /// ## Example
        /// ```arch
        /// service api { replicas = 0 }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// service api { replicas = 2 }
        /// ```
        A006, Error, "value outside the attribute's range"
    }
}

pub mod a007 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a required attribute that is missing (marked `*` in the language
        /// reference), such as an endpoint without `work` or a limit without `rate`.
        ///
        /// ## Why is this bad?
        /// There is no sensible default: the generator and the planner cannot proceed.
        ///
        /// ## Example
        /// ```arch
        /// limit per_ip { key = ip }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// limit per_ip { key = ip  rate = 100/min }
        /// ```
        A007, Error, "a required attribute is missing"
    }
}

pub mod a010 {
    crate::declare_rule! {
        /// ## What it does
        /// Reports a secret (a JWT or HMAC secret, a signing key) written as a literal
        /// string instead of `env("VAR")` or `file("/path")`.
        ///
        /// ## Why is this bad?
        /// `.arch` files are committed and shared; a literal secret leaks to everyone who
        /// can read the repository, and into every generated config.
        ///
        /// ## Example
        /// ```arch
        /// auth jwt { issuer = "https://auth.example"  secret = "hunter2" }
        /// ```
        ///
        /// ## Use instead
        /// ```arch
        /// auth jwt { issuer = "https://auth.example"  secret = env("JWT_SECRET") }
        /// ```
        A010, Error, "a secret written as a literal"
    }
}
