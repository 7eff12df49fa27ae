//! A001: syntax errors, reported by the parser in words.

crate::declare_rule! {
    /// ## What it does
    /// Reports text that is not valid `.arch` syntax, saying what was expected at that
    /// point in words (`expected a value such as 30s, "text" or a name`), and catches
    /// malformed literals: unknown units (`30sec`, with the closest unit suggested),
    /// whitespace inside a literal (`30 s`), names that are not lowercase.
    ///
    /// ## Why is this bad?
    /// Nothing after a syntax error in a file can be understood reliably.
    ///
    /// ## Example
    /// ```arch
    /// cache products {
    ///   layer memory { ttl = 30 s }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```arch
    /// cache products {
    ///   layer memory { ttl = 30s }
    /// }
    /// ```
    A001, Error, "syntax error"
}
